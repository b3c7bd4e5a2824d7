import { act, fireEvent, render, screen } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import { resetFromStorage } from '../api/auth';
import { App } from '../App';
import { json, stubFetch } from '../test/fetch';

beforeEach(() => {
  sessionStorage.clear();
  resetFromStorage();
});

const fill = (name: string, password: string) => {
  fireEvent.change(screen.getByLabelText('Operator name'), { target: { value: name } });
  fireEvent.change(screen.getByLabelText('Password'), { target: { value: password } });
};

describe('Sign-in', () => {
  it('shows the master’s refusal under the form and clears the password', async () => {
    const { calls } = stubFetch({ '/api/v1/login': () => json(401, { error: 'wrong operator name or password' }) });
    render(<App />);
    const button = screen.getByRole('button', { name: 'Sign in' }) as HTMLButtonElement;
    expect(button.disabled).toBe(true);
    fill('alice', 'not the password');
    expect(button.disabled).toBe(false);
    await act(async () => {
      fireEvent.click(button);
    });
    const error = await screen.findByTestId('signin-error');
    expect(error.textContent).toBe('Not signed in: wrong operator name or password');
    expect(error.getAttribute('role')).toBe('alert');
    expect((screen.getByLabelText('Password') as HTMLInputElement).value).toBe('');
    expect((screen.getByLabelText('Operator name') as HTMLInputElement).value).toBe('alice');
    expect(JSON.parse(String(calls[0]!.init.body))).toEqual({ name: 'alice', password: 'not the password' });
  });

  it('says so when the master cannot be reached', async () => {
    stubFetch({ '/api/v1/login': () => Promise.reject(new TypeError('Failed to fetch')) });
    render(<App />);
    fill('alice', 'whatever it is');
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    });
    expect((await screen.findByTestId('signin-error')).textContent).toMatch(/^Could not sign in\. Could not reach the master/);
  });

  it('opens the dashboard as the operator, with their grants', async () => {
    stubFetch({
      '/api/v1/login': () => json(200, { token: 's1', expires_ms: Date.now() + 60_000, name: 'alice', grants: [{ tenant: 'acme', role: 'viewer' }] }),
      '/api/v1/regions': () => json(200, { regions: [] }),
    });
    render(<App />);
    fill('alice', 'the right password');
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    });
    expect(await screen.findByText('No regions yet')).toBeTruthy();
    expect(screen.getByTestId('whoami').textContent).toBe('alice');
    expect(screen.getByText(/viewer on acme/)).toBeTruthy();
    expect(screen.getByRole('tab', { name: 'Audit' })).toBeTruthy();
  });
});
