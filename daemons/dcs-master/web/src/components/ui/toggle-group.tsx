import * as ToggleGroupPrimitive from '@radix-ui/react-toggle-group';
import type { ComponentPropsWithoutRef } from 'react';
import { cn } from './cn';

export function ToggleGroup({ className, ...props }: ComponentPropsWithoutRef<typeof ToggleGroupPrimitive.Root>) {
  return <ToggleGroupPrimitive.Root className={cn('toggle-group', className)} {...props} />;
}

export function ToggleGroupItem({ className, ...props }: ComponentPropsWithoutRef<typeof ToggleGroupPrimitive.Item>) {
  return <ToggleGroupPrimitive.Item className={cn('toggle-item', className)} {...props} />;
}
