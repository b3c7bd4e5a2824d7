import * as DialogPrimitive from '@radix-ui/react-dialog';
import { Button } from './button';
import type { ReactNode } from 'react';

export const Dialog = DialogPrimitive.Root;
export const DialogClose = DialogPrimitive.Close;

/** A modal with a title and a description (both read out when it opens); focus stays inside. */
export function DialogContent({
  title,
  description,
  children,
}: {
  title: ReactNode;
  description: ReactNode;
  children: ReactNode;
}) {
  return (
    <DialogPrimitive.Portal>
      <DialogPrimitive.Overlay className="dialog-overlay" />
      <DialogPrimitive.Content className="dialog-content">
        <DialogPrimitive.Title className="dialog-title">{title}</DialogPrimitive.Title>
        <DialogPrimitive.Description className="dialog-description">{description}</DialogPrimitive.Description>
        {children}
      </DialogPrimitive.Content>
    </DialogPrimitive.Portal>
  );
}

/**
 * A confirmation's Cancel and confirm buttons, both disabled while `busy` (the confirm one
 * then reads `busyLabel`). `submit` makes the confirm button submit the dialog's form instead
 * of calling `onConfirm`.
 */
export function ConfirmActions({
  label,
  busyLabel,
  busy,
  onConfirm,
  submit = false,
}: {
  label: string;
  busyLabel: string;
  busy: boolean;
  onConfirm?: () => void;
  submit?: boolean;
}) {
  return (
    <div className="dialog-actions">
      <DialogClose asChild>
        <Button variant="outline" disabled={busy}>
          Cancel
        </Button>
      </DialogClose>
      <Button type={submit ? 'submit' : 'button'} onClick={onConfirm} disabled={busy}>
        {busy ? busyLabel : label}
      </Button>
    </div>
  );
}
