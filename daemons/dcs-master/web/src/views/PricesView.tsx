// Prices: look up a SKU's central price, set it (sent down to every region and store) and
// follow it arriving store by store, and list a SKU in the global catalog.

import { useId, useState, type FormEvent } from 'react';
import { api, ApiError } from '../api';
import { Button } from '../components/ui/button';
import { Card } from '../components/ui/card';
import { ConfirmActions, Dialog, DialogContent } from '../components/ui/dialog';
import { describedBy, Field } from '../components/ui/field';
import { Input } from '../components/ui/input';
import { Select } from '../components/ui/select';
import { describeError, ErrorState, isForbidden, LoadingState } from '../components/ui/states';
import { useToast } from '../components/ui/toast';
import { changesShared, describeGrants } from '../lib/access';
import { useGrants } from '../lib/useSession';
import { COMMON_CURRENCIES, currencyDigits, formatMinor, minorToDecimal, parsePrice } from '../lib/money';
import { skuError } from '../lib/sku';
import { PriceArrival } from './PriceArrival';

type Lookup =
  | { status: 'idle' }
  | { status: 'loading'; sku: string }
  | { status: 'error'; sku: string; error: Error }
  | { status: 'ok'; sku: string; priceMinor: number | null };

/** Which field a 400 from the master is about ("sku: …", "price_minor: …"). */
function fieldOf(e: unknown): 'sku' | 'price' | null {
  if (!(e instanceof ApiError) || e.status !== 400) return null;
  if (e.message.startsWith('sku')) return 'sku';
  if (e.message.startsWith('price_minor') || e.message.startsWith('currency') || e.message.startsWith('the body')) return 'price';
  return null;
}

/** A change the master refused for the caller's grants, said as such. */
function refusal(what: string, failed: string, e: unknown): string {
  if (isForbidden(e)) return `Not allowed: your account may not ${what}. The master said: ${e.message}`;
  return `${failed} ${describeError(e as Error)}`;
}

export function PricesView() {
  const ids = useId();
  const grants = useGrants();
  const canChange = changesShared(grants);
  const notify = useToast();
  const [currency, setCurrency] = useState<string>('EUR');
  const [skuInput, setSkuInput] = useState('');
  const [skuErr, setSkuErr] = useState<string | null>(null);
  const [lookup, setLookup] = useState<Lookup>({ status: 'idle' });

  const [priceInput, setPriceInput] = useState('');
  const [priceErr, setPriceErr] = useState<string | null>(null);
  const [confirmPrice, setConfirmPrice] = useState<number | null>(null);
  const [saving, setSaving] = useState(false);
  const [saveErr, setSaveErr] = useState<string | null>(null);
  const [changes, setChanges] = useState(0);

  const [confirmList, setConfirmList] = useState(false);
  const [listing, setListing] = useState(false);
  const [listed, setListed] = useState<string | null>(null);
  const [listErr, setListErr] = useState<string | null>(null);

  const digits = currencyDigits(currency);
  const sku = lookup.status === 'idle' ? null : lookup.sku;

  const runLookup = async (s: string) => {
    setLookup({ status: 'loading', sku: s });
    try {
      const r = await api.prices([s]);
      // Read and enter prices in the master's own currency (it refuses any other).
      if (r.currency) setCurrency(r.currency);
      const row = r.prices.find((p) => p.sku === s) ?? r.prices[0];
      setLookup({ status: 'ok', sku: s, priceMinor: row ? row.price_minor : null });
    } catch (e) {
      if (fieldOf(e) === 'sku') {
        setSkuErr((e as Error).message);
        setLookup({ status: 'idle' });
      } else setLookup({ status: 'error', sku: s, error: e as Error });
    }
  };

  const onLookup = (e: FormEvent) => {
    e.preventDefault();
    const s = skuInput.trim();
    const err = skuError(s);
    setSkuErr(err);
    if (err) return;
    setPriceInput('');
    setPriceErr(null);
    setSaveErr(null);
    setListed(null);
    setListErr(null);
    void runLookup(s);
  };

  const onSetPrice = (e: FormEvent) => {
    e.preventDefault();
    const p = parsePrice(priceInput, currency);
    if (!p.ok) {
      setPriceErr(p.error);
      return;
    }
    setPriceErr(null);
    setConfirmPrice(p.minor);
  };

  const savePrice = async () => {
    if (sku === null || confirmPrice === null) return;
    setSaving(true);
    setSaveErr(null);
    try {
      const r = await api.setPrice(sku, confirmPrice, currency);
      setLookup({ status: 'ok', sku: r.sku, priceMinor: r.price_minor });
      setChanges((n) => n + 1);
      setPriceInput('');
      notify({ tone: 'success', title: `Price of ${r.sku} set`, description: `Now ${formatMinor(r.price_minor, currency)}, sent to every region and store.` });
    } catch (e) {
      const field = fieldOf(e);
      if (field === 'price') setPriceErr((e as Error).message);
      else setSaveErr(refusal('set prices', 'Setting the price failed.', e));
    } finally {
      setSaving(false);
      setConfirmPrice(null);
    }
  };

  const listSku = async () => {
    if (sku === null) return;
    setListing(true);
    setListErr(null);
    try {
      const r = await api.listInCatalog(sku);
      setListed(r.sku);
      notify({ tone: 'success', title: `${r.sku} is listed in the catalog` });
    } catch (e) {
      setListErr(refusal('list SKUs in the catalog', 'Listing failed.', e));
    } finally {
      setListing(false);
      setConfirmList(false);
    }
  };

  const skuId = `${ids}-sku`;
  const priceId = `${ids}-price`;
  const skuHint = 'As the stores know it, e.g. COFFEE-250G';
  const priceHint =
    digits === 0
      ? `In ${currency}: whole amounts only, e.g. 450`
      : `In ${currency}, up to ${digits} decimals, e.g. ${minorToDecimal(Math.round(4.5 * 10 ** digits), digits)}`;

  return (
    <div className="view">
      <Card title="Look up a SKU">
        <form className="filters" onSubmit={onLookup} aria-label="Look up a price">
          <Field id={skuId} label="SKU" hint={skuHint} error={skuErr}>
            <Input
              id={skuId}
              value={skuInput}
              onChange={(e) => setSkuInput(e.target.value)}
              autoComplete="off"
              spellCheck={false}
              className="mono"
              {...describedBy(skuId, skuHint, skuErr)}
            />
          </Field>
          <Field id={`${ids}-cur`} label="Currency" hint="Prices are kept in minor units: read and enter them in this currency">
            <Select id={`${ids}-cur`} value={currency} onValueChange={setCurrency} options={COMMON_CURRENCIES.map((c) => ({ value: c, label: c }))} />
          </Field>
          <div className="filters-submit">
            <Button type="submit">Look up</Button>
          </div>
        </form>
      </Card>

      {lookup.status === 'idle' && (
        <p className="muted">Enter a SKU to see its central price, set a new one, or list it in the global catalog.</p>
      )}
      {lookup.status === 'loading' && <LoadingState what={`the price of ${lookup.sku}`} />}
      {lookup.status === 'error' && (
        <ErrorState what={`the price of ${lookup.sku} (GET /api/v1/prices)`} error={lookup.error} onRetry={() => void runLookup(lookup.sku)} />
      )}
      {lookup.status === 'ok' && (
        <Card title={<span className="mono">{lookup.sku}</span>}>
          <div className="stat">
            <span className="stat-label">Central price</span>
            <span className="stat-value" data-testid="central-price">
              {lookup.priceMinor === null ? 'Not set' : formatMinor(lookup.priceMinor, currency)}
            </span>
            <span className="muted small">
              {lookup.priceMinor === null
                ? 'No central price is set for this SKU: the stores use their own.'
                : `${lookup.priceMinor.toLocaleString()} minor units`}
            </span>
          </div>

          {!canChange && (
            <p className="banner banner-info" role="note" data-testid="prices-read-only">
              Read only: changing prices and the catalog needs the operator role on every tenant
              (*), since every tenant shares them. Your account has: {describeGrants(grants)}.
            </p>
          )}
          <form className="filters" onSubmit={onSetPrice} aria-label={`Set the price of ${lookup.sku}`} noValidate>
            <Field id={priceId} label={`New price (${currency})`} hint={priceHint} error={priceErr}>
              <Input
                id={priceId}
                inputMode="decimal"
                value={priceInput}
                onChange={(e) => {
                  setPriceInput(e.target.value);
                  if (priceErr) setPriceErr(null);
                }}
                autoComplete="off"
                disabled={!canChange}
                {...describedBy(priceId, priceHint, priceErr)}
              />
            </Field>
            <div className="filters-submit">
              <Button type="submit" disabled={saving || !canChange}>
                {saving ? 'Setting…' : 'Set price…'}
              </Button>
            </div>
          </form>
          {saveErr && (
            <p className="field-error" role="alert">
              {saveErr}
            </p>
          )}

          <div className="row">
            <Button variant="secondary" onClick={() => setConfirmList(true)} disabled={listing || !canChange}>
              {listing ? 'Listing…' : 'List SKU in catalog…'}
            </Button>
            {listed === lookup.sku && (
              <span className="ok-text" role="status">
                ✓ Listed in the global catalog
              </span>
            )}
          </div>
          {listErr && (
            <p className="field-error" role="alert">
              {listErr}
            </p>
          )}
        </Card>
      )}

      {lookup.status === 'ok' && canChange && <PriceArrival sku={lookup.sku} currency={currency} version={changes} />}

      <Dialog open={confirmPrice !== null} onOpenChange={(open) => !open && !saving && setConfirmPrice(null)}>
        {confirmPrice !== null && sku !== null && (
          <DialogContent
            title={`Set the price of ${sku}?`}
            description={`${formatMinor(confirmPrice, currency)} (${confirmPrice.toLocaleString()} minor units) becomes the central price, sent down to every region and store.`}
          >
            <ConfirmActions label="Set price" busyLabel="Setting…" busy={saving} onConfirm={() => void savePrice()} />
          </DialogContent>
        )}
      </Dialog>

      <Dialog open={confirmList} onOpenChange={(open) => !open && !listing && setConfirmList(false)}>
        {sku !== null && (
          <DialogContent title={`List ${sku} in the catalog?`} description="The SKU joins the global catalog that the master sends to every region and store.">
            <ConfirmActions label="List in catalog" busyLabel="Listing…" busy={listing} onConfirm={() => void listSku()} />
          </DialogContent>
        )}
      </Dialog>
    </div>
  );
}
