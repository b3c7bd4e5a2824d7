"""DCS for Python: offline-first commerce events.

CRDTs that converge without coordination (``GCounter``, ``PNCounter``, ``BoundedCounter``, ``ORSet``,
``LWWRegister``, ``PNCounterMap``), integer money with a cart and a tax engine, sealed events (AES-256-GCM
envelope, HMAC-SHA512, ECDSA P-256 or Ed25519 signature) and a tamper-evident SQLite event
store, all from the Rust SDK. Every error is a ``DcsError`` carrying the Rust message.
"""

from ._dcs import (
    AppendResult,
    BoundedCounter,
    Cart,
    CartTotals,
    ConflictError,
    CoreError,
    CrdtError,
    CryptoError,
    DcsError,
    DomainEvent,
    Event,
    GCounter,
    KeyRegistry,
    Keyring,
    LoyaltyRow,
    LWWRegister,
    MacKey,
    Money,
    MoneyError,
    ORSet,
    PNCounter,
    PNCounterMap,
    Product,
    Projections,
    Sale,
    SalesDay,
    Signer,
    StockRow,
    Store,
    StoreIterator,
    StoreError,
    TamperedError,
    TaxEngine,
    Terminal,
    open_event,
    verify_event,
)

__all__ = [
    "AppendResult", "BoundedCounter", "Cart", "CartTotals", "ConflictError", "CoreError", "CrdtError", "CryptoError",
    "DcsError", "DomainEvent", "Event", "GCounter", "KeyRegistry", "Keyring", "LWWRegister", "MacKey",
    "Money", "MoneyError", "ORSet", "PNCounter", "PNCounterMap", "Product", "Sale", "Signer", "Store", "StoreError",
    "TamperedError", "TaxEngine", "Terminal", "open_event", "verify_event",
    "Projections", "SalesDay", "StockRow", "LoyaltyRow", "StoreIterator",
]
