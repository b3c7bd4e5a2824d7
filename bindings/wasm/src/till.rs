//! The browser till: commands sealed in the browser, with data keys the store leased.
//!
//! A `Till` is dcs-crypto's `Terminal` (clocks, idempotency keys, sealing) over the
//! [`LeasedKeys`] provider: it holds the tenant's MAC key, its own signing key and data keys
//! its store leased, never a KEK. Each command runs the same dcs-core rules as the store's
//! daemon (`PosSession`, `Sale`, the cart and tax engine) and returns a [`SealedCommand`]: the
//! stream, the events in their canonical bytes (what `SubmitSealed` takes, byte for byte what
//! was signed) and the states the till keeps in its storage (the session's, the sale's).
//! Time and randomness come from JS: `Date.now()` and 32 bytes of `crypto.getRandomValues`
//! per command.

use dcs_core::commerce::{
    CustomerId, DomainEvent, EventBody, PosSession, RefundId, Sale, SaleId, SessionId, Sku, Tender,
};
use dcs_core::{AgentId, BranchId, IdempotencyKey, Money, SovereignFinancialEvent};
use dcs_crypto::lease::LeasedKeys;
use dcs_crypto::{
    CashierList, DataKey, KekRef, MacKey, SealingKey, Signer, Terminal, TerminalConfig,
    TerminalState, TillEnrollment, WrappedKey,
};
use js_sys::{Array, Object, Reflect, Uint8Array};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use wasm_bindgen::prelude::*;

use crate::args;
use crate::cart::{Cart, TaxEngine};

/// Most events one sale's state may hold (its sale, payment and refund facts).
const MAX_SALE_BODIES: usize = 256;

/// A self-sealing till of one store.
#[wasm_bindgen]
pub struct Till {
    terminal: Terminal,
    keys: Option<LeasedKeys>,
    mac: MacKey,
    signer: Signer,
    branch: BranchId,
}

/// What a command made: its stream, its sealed events and the states to keep.
#[wasm_bindgen]
pub struct SealedCommand {
    stream: String,
    events: Vec<Vec<u8>>,
    event_ids: Vec<String>,
    total: Option<i64>,
    session: Option<Vec<u8>>,
    sale: Option<Vec<u8>>,
    expected: Option<i64>,
    variance: Option<i64>,
}

fn bytes_array(items: &[Vec<u8>]) -> Array {
    items.iter().map(|b| Uint8Array::from(b.as_slice())).collect()
}

#[wasm_bindgen]
impl SealedCommand {
    /// The stream the events go to (`SubmitSealedRequest.stream`).
    #[wasm_bindgen(getter)]
    pub fn stream(&self) -> String {
        self.stream.clone()
    }

    /// The events' canonical bytes (`SubmitSealedRequest.sealed`).
    #[wasm_bindgen(getter, unchecked_return_type = "Uint8Array[]")]
    pub fn events(&self) -> Array {
        bytes_array(&self.events)
    }

    /// The events' ids (UUIDv7 text).
    #[wasm_bindgen(getter, js_name = eventIds)]
    pub fn event_ids(&self) -> Vec<String> {
        self.event_ids.clone()
    }

    /// The command's amount in minor units (a sale's or a refund's total).
    #[wasm_bindgen(getter)]
    pub fn total(&self) -> Option<i64> {
        self.total
    }

    /// The session's new state (keep it for the session's next command).
    #[wasm_bindgen(getter)]
    pub fn session(&self) -> Option<Vec<u8>> {
        self.session.clone()
    }

    /// The sale's state after a sale or refund (keep it per receipt: refunds need it).
    #[wasm_bindgen(getter)]
    pub fn sale(&self) -> Option<Vec<u8>> {
        self.sale.clone()
    }

    /// On closing a session: the cash the drawer should hold, in minor units.
    #[wasm_bindgen(getter)]
    pub fn expected(&self) -> Option<i64> {
        self.expected
    }

    /// On closing a session: counted − expected, in minor units.
    #[wasm_bindgen(getter)]
    pub fn variance(&self) -> Option<i64> {
        self.variance
    }
}

fn tender(value: &JsValue) -> Result<Tender, JsError> {
    match args::text(value, "tender")?.as_str() {
        "cash" => Ok(Tender::Cash),
        "card" => Ok(Tender::Card),
        "giftCard" | "voucher" => Ok(Tender::Voucher),
        "mobile" => Ok(Tender::Mobile),
        other => Err(JsError::new(&format!(
            "tender: unknown {other:?}; use \"cash\", \"card\", \"giftCard\" or \"mobile\""
        ))),
    }
}

fn session_of(bytes: &JsValue) -> Result<PosSession, JsError> {
    let b = args::bytes(bytes, "session")?;
    postcard::from_bytes(&b)
        .map_err(|e| JsError::new(&format!("session: not a session state from this till: {e}")))
}

/// A session state that is still open (sales and refunds need one).
fn open_session_of(bytes: &JsValue) -> Result<PosSession, JsError> {
    let session = session_of(bytes)?;
    if session.is_closed() {
        return Err(JsError::new("session: it is closed; open a new session"));
    }
    Ok(session)
}

fn encode<T: serde::Serialize>(what: &str, value: &T) -> Result<Vec<u8>, JsError> {
    postcard::to_allocvec(value).map_err(|e| JsError::new(&format!("cannot encode {what}: {e}")))
}

fn minor(m: Money) -> Result<i64, JsError> {
    Ok(m.minor())
}

#[wasm_bindgen]
impl Till {
    /// A till of `tenant`/`branch` with agent id `agent`, selling in `currency`; `signingKey`
    /// is its key from the enrollment code, `macKey` the tenant's MAC key from the provision,
    /// `node` 16 random bytes kept for the till's life, `state` a previous `state()`.
    #[wasm_bindgen(constructor)]
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "string")] tenant: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] branch: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] agent: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] currency: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] signing_key: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] mac_key: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] node: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | undefined")] state: JsValue,
    ) -> Result<Till, JsError> {
        let tenant = args::text(&tenant, "tenant")?;
        let branch_text = args::text(&branch, "branch")?;
        let config = TerminalConfig::new(
            &tenant,
            &branch_text,
            &args::text(&agent, "agent")?,
            crate::money::currency(&currency)?,
        )
        .map_err(args::error)?;
        let signer = Signer::from_key_bytes(&args::bytes(&signing_key, "signingKey")?)
            .map_err(|e| JsError::new(&format!("signingKey: {e}")))?;
        let mac = MacKey::from_bytes(&args::bytes(&mac_key, "macKey")?)
            .map_err(|e| JsError::new(&format!("macKey: {e}")))?;
        let node = args::byte_array::<16>(&node, "node")?;
        let resume = if state.is_undefined() || state.is_null() {
            TerminalState::default()
        } else {
            TerminalState::from_bytes(&args::bytes(&state, "state")?)
                .map_err(|e| JsError::new(&format!("state: {e}")))?
        };
        let terminal = Terminal::resume(config, node, &resume).map_err(args::error)?;
        let branch = BranchId::new(branch_text).map_err(args::error)?;
        Ok(Till { terminal, keys: None, mac, signer, branch })
    }

    /// Adds a data key the store leased (`TillProvision.lease`): sealing uses the newest one
    /// until `maxUses` events or `expiresUnixMs`.
    #[allow(clippy::too_many_arguments)]
    pub fn lease(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] kek_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] kek_version: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] data_key_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] data_key: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] wrapped: JsValue,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] now_ms: JsValue,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] max_uses: JsValue,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] expires_unix_ms: JsValue,
    ) -> Result<(), JsError> {
        let kek = KekRef::checked(
            args::text(&kek_id, "kekId")?,
            args::int_as::<u32>(&kek_version, "kekVersion")?,
        )
        .map_err(args::error)?;
        let key = SealingKey {
            id: args::byte_array::<16>(&data_key_id, "dataKeyId")?,
            key: DataKey::from_slice(&args::bytes(&data_key, "dataKey")?).map_err(args::error)?,
            wrapped: WrappedKey { kek: kek.clone(), bytes: args::bytes(&wrapped, "wrapped")? },
        };
        self.terminal.lease(
            key,
            args::int_as::<u64>(&now_ms, "nowMs")?,
            args::int_as::<u64>(&max_uses, "maxUses")?,
            args::int_as::<u64>(&expires_unix_ms, "expiresUnixMs")?,
        );
        self.keys = Some(LeasedKeys::new(kek));
        Ok(())
    }

    /// Events the till may still seal at `nowMs` with its leases (0: lease one first).
    #[wasm_bindgen(js_name = leaseRemaining)]
    pub fn lease_remaining(
        &self,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] now_ms: JsValue,
    ) -> Result<u64, JsError> {
        let now = args::int_as::<u64>(&now_ms, "nowMs")?;
        Ok(self.keys.as_ref().map_or(0, |k| self.terminal.remaining_uses(k.kek(), now)))
    }

    /// The clocks to save after every command (hand them to the constructor on reload).
    pub fn state(&self) -> Vec<u8> {
        self.terminal.state().to_bytes()
    }

    /// The till's public key (Ed25519, 32 bytes).
    #[wasm_bindgen(js_name = publicKey)]
    pub fn public_key(&self) -> Vec<u8> {
        self.signer.verifier().to_bytes()
    }

    /// Opens a session for `cashier` with a counted `openingFloat` (minor units).
    #[wasm_bindgen(js_name = openSession)]
    #[allow(clippy::too_many_arguments)]
    pub fn open_session(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] session_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] cashier: JsValue,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] opening_float: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] now_ms: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] random: JsValue,
    ) -> Result<SealedCommand, JsError> {
        let id = SessionId::new(args::text(&session_id, "sessionId")?).map_err(args::error)?;
        let cashier = AgentId::new(args::text(&cashier, "cashier")?).map_err(args::error)?;
        let float = Money::from_minor(
            args::int_as::<i64>(&opening_float, "openingFloat")?,
            self.terminal.config().currency,
        );
        let (session, fact) = PosSession::open(id.clone(), cashier.clone(), float)
            .map_err(|e| JsError::new(&format!("openingFloat: {e}")))?;
        let mut out = self.seal(&key, &format!("session-{id}"), &[fact], &now_ms, &random)?;
        out.session = Some(encode("the session", &session)?);
        Ok(out)
    }

    /// Prices `cart` with `engine`, pays it with `tender` and completes the sale `saleId` in
    /// the open session `session` (its state); cash moves the session's drawer.
    #[allow(clippy::too_many_arguments)]
    pub fn sell(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] session: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] sale_id: JsValue,
        cart: &Cart,
        engine: &TaxEngine,
        #[wasm_bindgen(unchecked_param_type = "'cash' | 'card' | 'giftCard' | 'mobile'")]
        tender_name: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string | undefined")] customer: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] now_ms: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] random: JsValue,
    ) -> Result<SealedCommand, JsError> {
        let mut session = open_session_of(&session)?;
        let sale_id = SaleId::new(args::text(&sale_id, "saleId")?).map_err(args::error)?;
        let tender = tender(&tender_name)?;
        let customer = if customer.is_undefined() || customer.is_null() {
            None
        } else {
            Some(CustomerId::new(args::text(&customer, "customer")?).map_err(args::error)?)
        };
        if cart.core().lines().is_empty() {
            return Err(JsError::new("cart: it is empty; add a product first"));
        }
        let totals = cart.core().totals(&engine.core()).map_err(args::error)?;
        let (mut sale, started) =
            Sale::initiate(sale_id.clone(), self.branch.clone(), &totals, customer)
                .map_err(args::error)?;
        let mut facts = vec![started];
        facts.extend(sale.pay_and_complete(tender).map_err(args::error)?);
        let total = totals.totals.total;
        if tender == Tender::Cash {
            session.record_cash_sale(total).map_err(args::error)?;
        }
        let mut out = self.seal(&key, &format!("sale-{sale_id}"), &facts, &now_ms, &random)?;
        let bodies: Vec<&EventBody> = facts.iter().map(|f| &f.body).collect();
        out.sale = Some(encode("the sale", &bodies)?);
        out.session = Some(encode("the session", &session)?);
        out.total = Some(minor(total)?);
        Ok(out)
    }

    /// Refunds `lines` (`[sku, quantity]` pairs) of the completed sale whose state is `sale`,
    /// never more than was sold; a cash refund leaves the session's drawer.
    #[allow(clippy::too_many_arguments)]
    pub fn refund(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] session: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] sale: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] refund_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Array<[string, number]>")] lines: JsValue,
        #[wasm_bindgen(unchecked_param_type = "'cash' | 'card' | 'giftCard' | 'mobile'")]
        tender_name: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] reason: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] now_ms: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] random: JsValue,
    ) -> Result<SealedCommand, JsError> {
        let mut session = open_session_of(&session)?;
        let sale_bytes = args::bytes(&sale, "sale")?;
        let mut bodies: Vec<EventBody> = postcard::from_bytes(&sale_bytes)
            .map_err(|e| JsError::new(&format!("sale: not a sale state from this till: {e}")))?;
        let mut sale = Sale::replay(self.branch.clone(), bodies.iter())
            .map_err(|e| JsError::new(&format!("sale: {e}")))?;
        let refund_id = RefundId::new(args::text(&refund_id, "refundId")?).map_err(args::error)?;
        let mut items = Vec::new();
        for (i, pair) in args::array(&lines, "lines")?.iter().enumerate() {
            let pair = args::array(pair, "lines entry")?;
            let (Some(sku), Some(qty)) = (pair.first(), pair.get(1)) else {
                return Err(JsError::new(&format!("lines[{i}]: pass [sku, quantity]")));
            };
            let sku = Sku::new(args::text(sku, "sku")?)
                .map_err(|e| JsError::new(&format!("lines[{i}].sku: {e}")))?;
            let qty = args::int_as::<u32>(qty, "quantity")?;
            if qty == 0 {
                return Err(JsError::new(&format!("lines[{i}].quantity: must be at least 1")));
            }
            items.push((sku, qty));
        }
        let tender = tender(&tender_name)?;
        let facts = sale
            .refund(refund_id, &items, tender, &args::text(&reason, "reason")?)
            .map_err(args::error)?;
        let total = facts.iter().find_map(|f| match &f.body {
            EventBody::SalePartiallyRefunded(r) | EventBody::SaleReversed(r) => Some(r.total),
            _ => None,
        });
        if let (Tender::Cash, Some(amount)) = (tender, total) {
            session.record_cash_refund(amount).map_err(args::error)?;
        }
        let stream = format!("sale-{}", sale.sale_id());
        let mut out = self.seal(&key, &stream, &facts, &now_ms, &random)?;
        bodies.extend(facts.into_iter().map(|f| f.body));
        if bodies.len() > MAX_SALE_BODIES {
            return Err(JsError::new("sale: too many refunds on one sale"));
        }
        out.sale = Some(encode("the sale", &bodies)?);
        out.session = Some(encode("the session", &session)?);
        out.total = total.map(minor).transpose()?;
        Ok(out)
    }

    /// Closes the session with the `counted` cash (minor units): returns the expected cash and
    /// the variance with the sealed SESSION_CLOSED.
    #[wasm_bindgen(js_name = closeSession)]
    pub fn close_session(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] key: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] session: JsValue,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] counted: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] now_ms: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] random: JsValue,
    ) -> Result<SealedCommand, JsError> {
        let mut session = session_of(&session)?;
        let counted = Money::from_minor(
            args::int_as::<i64>(&counted, "counted")?,
            self.terminal.config().currency,
        );
        let expected = session.expected_cash().map_err(args::error)?;
        let fact = session.close(counted).map_err(|e| JsError::new(&format!("counted: {e}")))?;
        let stream = format!("session-{}", session.session_id());
        let mut out = self.seal(&key, &stream, &[fact], &now_ms, &random)?;
        out.session = Some(encode("the session", &session)?);
        out.expected = Some(minor(expected)?);
        out.variance = Some(minor(counted.checked_sub(expected).map_err(args::error)?)?);
        Ok(out)
    }

    /// Seals `facts` as the events `KEY/0`, `KEY/1`, … of one command, created and signed by
    /// the till (the cashier is named in the session's facts).
    fn seal(
        &mut self,
        key: &JsValue,
        stream: &str,
        facts: &[DomainEvent],
        now_ms: &JsValue,
        random: &JsValue,
    ) -> Result<SealedCommand, JsError> {
        let key = args::text(key, "key")?;
        IdempotencyKey::new(format!("{key}/0")).map_err(|e| JsError::new(&format!("key: {e}")))?;
        let now = args::int_as::<u64>(now_ms, "nowMs")?;
        let mut rng = ChaCha20Rng::from_seed(args::byte_array::<32>(random, "random")?);
        let provider = self.keys.clone().ok_or_else(|| {
            JsError::new("no data key lease: provision the till from its store first")
        })?;
        let creator = self.terminal.config().agent.clone();
        let mut events: Vec<SovereignFinancialEvent> = Vec::with_capacity(facts.len());
        for (i, fact) in facts.iter().enumerate() {
            let k = IdempotencyKey::new(format!("{key}/{i}")).map_err(args::error)?;
            let e = self
                .terminal
                .seal(fact, &creator, Some(k), now, &mut rng, &provider, &self.mac, &self.signer)
                .map_err(args::error)?;
            events.push(e);
        }
        let mut bytes = Vec::with_capacity(events.len());
        for e in &events {
            bytes.push(encode("an event", e)?);
        }
        Ok(SealedCommand {
            stream: stream.into(),
            event_ids: events.iter().map(|e| e.event_id().to_string()).collect(),
            events: bytes,
            total: None,
            session: None,
            sale: None,
            expected: None,
            variance: None,
        })
    }
}

/// Sets `object[key] = value`.
fn set(object: &Object, key: &str, value: JsValue) -> Result<(), JsError> {
    Reflect::set(object, &JsValue::from_str(key), &value)
        .map(drop)
        .map_err(|_| JsError::new(&format!("cannot set {key}")))
}

/// Verifies the store's signed cashier list with the store's public key (from the enrollment
/// code) and returns its cashiers; throws on a forged or edited list.
#[wasm_bindgen(js_name = verifyCashiers, unchecked_return_type = "Array<{ id: string, name: string, pinHash: string }>")]
pub fn verify_cashiers(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] list: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] signature: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] store_public_key: JsValue,
) -> Result<Array, JsError> {
    let store = dcs_crypto::Verifier::from_bytes(
        dcs_core::event::SignatureAlgorithm::Ed25519,
        &args::bytes(&store_public_key, "storePublicKey")?,
    )
    .map_err(|e| JsError::new(&format!("storePublicKey: {e}")))?;
    let list = CashierList::verify(
        &args::bytes(&list, "list")?,
        &args::bytes(&signature, "signature")?,
        &store,
    )
    .map_err(|e| JsError::new(&format!("the cashier list is not the store's: {e}")))?;
    let out = Array::new();
    for c in &list.cashiers {
        let o = Object::new();
        set(&o, "id", c.id.as_str().into())?;
        set(&o, "name", c.name.as_str().into())?;
        set(&o, "pinHash", c.pin_hash.as_str().into())?;
        out.push(&o);
    }
    Ok(out)
}

/// True when `pin` matches the argon2id PHC string `pinHash`.
#[wasm_bindgen(js_name = checkPin)]
pub fn check_pin(
    #[wasm_bindgen(unchecked_param_type = "string")] pin_hash: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] pin: JsValue,
) -> Result<bool, JsError> {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    let hash_text = args::text(&pin_hash, "pinHash")?;
    let hash = PasswordHash::new(&hash_text)
        .map_err(|e| JsError::new(&format!("pinHash: not a PHC string: {e}")))?;
    Ok(argon2::Argon2::default()
        .verify_password(args::text(&pin, "pin")?.as_bytes(), &hash)
        .is_ok())
}

/// Decodes the enrollment code `dcs-local till add` printed.
#[wasm_bindgen(js_name = parseEnrollment, unchecked_return_type = "{ agent: string, token: string, signingKey: Uint8Array, storePublicKey: Uint8Array }")]
pub fn parse_enrollment(
    #[wasm_bindgen(unchecked_param_type = "string")] code: JsValue,
) -> Result<Object, JsError> {
    let e = TillEnrollment::from_code(&args::text(&code, "code")?).map_err(args::error)?;
    let o = Object::new();
    set(&o, "agent", e.agent.as_str().into())?;
    set(&o, "token", e.token.as_str().into())?;
    set(&o, "signingKey", Uint8Array::from(e.signing_key.as_slice()).into())?;
    set(&o, "storePublicKey", Uint8Array::from(e.store_key.as_slice()).into())?;
    Ok(o)
}

/// Checks a sealed event's canonical bytes (as `SealedCommand.events` made them) against the
/// tenant's MAC key and the till's public key: throws on a record edited in storage.
#[wasm_bindgen(js_name = verifySealed)]
pub fn verify_sealed(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] event: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] mac_key: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] public_key: JsValue,
) -> Result<(), JsError> {
    let e = SovereignFinancialEvent::from_bytes(&args::bytes(&event, "event")?)
        .map_err(|e| JsError::new(&format!("event: {e}")))?;
    let mac = MacKey::from_bytes(&args::bytes(&mac_key, "macKey")?)
        .map_err(|e| JsError::new(&format!("macKey: {e}")))?;
    let key = dcs_crypto::Verifier::from_bytes(
        dcs_core::event::SignatureAlgorithm::Ed25519,
        &args::bytes(&public_key, "publicKey")?,
    )
    .map_err(|e| JsError::new(&format!("publicKey: {e}")))?;
    let mut registry = dcs_crypto::KeyRegistry::new();
    registry.register(&e.audit().created_by, key);
    dcs_crypto::verify_event(&e, &mac, &registry)
        .map_err(|err| JsError::new(&format!("event {}: {err}", e.event_id())))
}

/// A new till signing key (Ed25519) from 32 random bytes, in the self-describing key-file
/// form the `Till` constructor takes (for tills that make their own key and enroll its
/// public key, and for tests).
#[wasm_bindgen(js_name = newTillKey)]
pub fn new_till_key(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] random: JsValue,
) -> Result<Vec<u8>, JsError> {
    let seed = args::byte_array::<32>(&random, "random")?;
    let signer = Signer::from_bytes(dcs_core::event::SignatureAlgorithm::Ed25519, &seed)
        .map_err(args::error)?;
    Ok(signer.to_key_bytes().to_vec())
}
