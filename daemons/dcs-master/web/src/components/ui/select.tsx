import * as SelectPrimitive from '@radix-ui/react-select';
import type { ReactNode } from 'react';

export interface SelectOption {
  value: string;
  label: ReactNode;
}

/**
 * A labelled single choice (Radix Select). `id` goes on the trigger, so a <Label htmlFor>
 * names it; keyboard: Enter/Space/arrows open it, arrows move, Enter picks, Escape closes.
 */
export function Select({
  id,
  value,
  onValueChange,
  options,
  disabled,
  'aria-label': ariaLabel,
}: {
  id: string;
  value: string;
  onValueChange: (v: string) => void;
  options: readonly SelectOption[];
  disabled?: boolean;
  'aria-label'?: string;
}) {
  return (
    <SelectPrimitive.Root value={value} onValueChange={onValueChange} disabled={disabled}>
      <SelectPrimitive.Trigger id={id} className="select-trigger" aria-label={ariaLabel}>
        <SelectPrimitive.Value />
        <SelectPrimitive.Icon className="select-icon" aria-hidden>
          ▾
        </SelectPrimitive.Icon>
      </SelectPrimitive.Trigger>
      <SelectPrimitive.Portal>
        <SelectPrimitive.Content className="select-content" position="popper" sideOffset={4}>
          <SelectPrimitive.Viewport className="select-viewport">
            {options.map((o) => (
              <SelectPrimitive.Item key={o.value} value={o.value} className="select-item">
                <SelectPrimitive.ItemText>{o.label}</SelectPrimitive.ItemText>
                <SelectPrimitive.ItemIndicator className="select-check" aria-hidden>
                  ✓
                </SelectPrimitive.ItemIndicator>
              </SelectPrimitive.Item>
            ))}
          </SelectPrimitive.Viewport>
        </SelectPrimitive.Content>
      </SelectPrimitive.Portal>
    </SelectPrimitive.Root>
  );
}
