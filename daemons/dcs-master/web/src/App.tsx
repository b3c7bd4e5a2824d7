import { lazy, Suspense, useEffect, useState, useSyncExternalStore } from 'react';
import { getAuthState, signOut, subscribe, type Session } from './api/auth';
import { Button } from './components/ui/button';
import { LoadingState } from './components/ui/states';
import { Tabs, TabsContent, TabsList, TabsTrigger } from './components/ui/tabs';
import { ToastProvider } from './components/ui/toast';
import { describeGrants } from './lib/access';
import { parseStoreHash, type StoreRef } from './lib/store';
import { AuditView } from './views/AuditView';
import { FleetView } from './views/FleetView';
import { KeysView } from './views/KeysView';
import { PricesView } from './views/PricesView';
import { RaftView } from './views/RaftView';
import { RejectedView } from './views/RejectedView';
import { SignIn } from './views/SignIn';
import { StockView } from './views/StockView';
import { StoresView } from './views/StoresView';
import { StoreView } from './views/StoreView';

// The Sales and Lag views carry the charting library: loaded when first opened.
const SalesView = lazy(() => import('./views/SalesView').then((m) => ({ default: m.SalesView })));
const LagView = lazy(() => import('./views/LagView').then((m) => ({ default: m.LagView })));

const VIEWS = [
  { id: 'fleet', label: 'Fleet' },
  { id: 'lag', label: 'Lag over time' },
  { id: 'raft', label: 'Raft health' },
  { id: 'stores', label: 'Stores' },
  { id: 'sales', label: 'Sales' },
  { id: 'stock', label: 'Stock' },
  { id: 'rejected', label: 'Rejected events' },
  { id: 'prices', label: 'Prices' },
  { id: 'keys', label: 'Keys' },
  { id: 'audit', label: 'Audit' },
] as const;

type ViewId = (typeof VIEWS)[number]['id'];

function viewFromHash(): ViewId {
  const h = globalThis.location?.hash.replace(/^#/, '') ?? '';
  // A store's page (#store/<tenant>/<branch>) is under the Stores tab.
  if (parseStoreHash(h)) return 'stores';
  return (VIEWS.find((v) => v.id === h)?.id ?? 'fleet') as ViewId;
}

function storeFromHash(): StoreRef | null {
  return parseStoreHash(globalThis.location?.hash ?? '');
}

function useNarrow(px: number): boolean {
  const query = `(max-width: ${px}px)`;
  const [narrow, setNarrow] = useState(() => globalThis.matchMedia?.(query).matches ?? false);
  useEffect(() => {
    const m = globalThis.matchMedia?.(query);
    if (!m) return;
    const on = () => setNarrow(m.matches);
    m.addEventListener('change', on);
    return () => m.removeEventListener('change', on);
  }, [query]);
  return narrow;
}

export function App() {
  const auth = useSyncExternalStore(subscribe, getAuthState);
  if (!auth.session) return <SignIn notice={auth.notice} />;
  return (
    <ToastProvider>
      {/* A new operator starts from a fresh dashboard (no view state carried over). */}
      <Dashboard key={auth.session.token} session={auth.session} />
    </ToastProvider>
  );
}

function Dashboard({ session }: { session: Session }) {
  const [leaving, setLeaving] = useState(false);
  const [view, setView] = useState<ViewId>(viewFromHash);
  const [store, setStore] = useState<StoreRef | null>(storeFromHash);
  const narrow = useNarrow(900);

  useEffect(() => {
    const on = () => {
      setView(viewFromHash());
      setStore(storeFromHash());
    };
    globalThis.addEventListener('hashchange', on);
    return () => globalThis.removeEventListener('hashchange', on);
  }, []);

  const choose = (v: string) => {
    setView(v as ViewId);
    setStore(null);
    history.replaceState(null, '', `#${v}`);
  };

  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">DCS master · admin</span>
        <div className="whoami">
          <span className="whoami-text">
            Signed in as <strong data-testid="whoami">{session.name}</strong>
            <span className="muted small whoami-grants"> · {describeGrants(session.grants)}</span>
          </span>
          <Button
            variant="ghost"
            disabled={leaving}
            onClick={() => {
              setLeaving(true);
              // The next operator starts at the fleet, not at this one's last view.
              history.replaceState(null, '', `${location.pathname}${location.search}`);
              void signOut();
            }}
          >
            {leaving ? 'Signing out…' : 'Sign out'}
          </Button>
        </div>
      </header>
      <Tabs value={view} onValueChange={choose} orientation={narrow ? 'horizontal' : 'vertical'} className="layout" activationMode="manual">
        <nav className="sidenav" aria-label="Views">
          <TabsList aria-label="Views">
            {VIEWS.map((v) => (
              <TabsTrigger
                key={v.id}
                value={v.id}
                // From a store's page, its own tab leads back to the list of stores.
                onClick={v.id === 'stores' && view === 'stores' && store ? () => choose('stores') : undefined}
              >
                {v.label}
              </TabsTrigger>
            ))}
          </TabsList>
        </nav>
        <main id="main" className="main" tabIndex={-1}>
          {VIEWS.map((v) => (
            <TabsContent key={v.id} value={v.id}>
              <h1 className="view-title">{v.label}</h1>
              {v.id === 'fleet' && <FleetView />}
              {v.id === 'lag' && (
                <Suspense fallback={<LoadingState what="the lag view" />}>
                  <LagView />
                </Suspense>
              )}
              {v.id === 'raft' && <RaftView />}
              {v.id === 'sales' && (
                <Suspense fallback={<LoadingState what="the sales view" />}>
                  <SalesView />
                </Suspense>
              )}
              {v.id === 'stores' &&
                (store ? <StoreView key={`${store.tenant}/${store.branch}`} store={store} /> : <StoresView />)}
              {v.id === 'stock' && <StockView />}
              {v.id === 'rejected' && <RejectedView />}
              {v.id === 'prices' && <PricesView />}
              {v.id === 'keys' && <KeysView />}
              {v.id === 'audit' && <AuditView />}
            </TabsContent>
          ))}
        </main>
      </Tabs>
    </div>
  );
}
