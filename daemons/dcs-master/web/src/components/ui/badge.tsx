import type { ReactNode } from 'react';
import { cn } from './cn';

/** A coloured label: the text says it all, the colour and the icon only repeat it. */
export function Badge({ tone, icon, children }: { tone: 'ok' | 'warn' | 'bad' | 'muted'; icon?: string; children: ReactNode }) {
  return (
    <span className={cn('badge', `badge-${tone}`)}>
      {icon && (
        <span className="badge-icon" aria-hidden>
          {icon}
        </span>
      )}
      {children}
    </span>
  );
}
