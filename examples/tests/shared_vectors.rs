//! The shared test vectors (`bindings/vectors/crdt_cart_v1.json`) applied through Rust: every
//! CRDT case must end in the recorded state bytes and values, every cart in the recorded
//! totals. Python and JS check the same file, so the three sides agree byte for byte.
//!
//! `DCS_BLESS=1 cargo test -p dcs-examples --test shared_vectors` rewrites the `expect`
//! fields from what Rust computes (review the diff: a change means the encoding changed).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use dcs_core::commerce::{
    Cart, Discount, Product, Sku, TaxEngine, TaxPolicy, TaxPricing, TaxRate, TaxRounding, TaxTable,
};
use dcs_core::{Currency, Money, RoundingMode};
use dcs_crdt::{
    BoundedCounter, Crdt, GCounter, Hlc, LWWRegister, ORMap, ORSet, PNCounter, ReplicaId,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../bindings/vectors/crdt_cart_v1.json")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn u64_of(op: &Value, key: &str) -> u64 {
    op[key].as_u64().unwrap_or_else(|| panic!("`{key}` must be an unsigned integer in {op}"))
}

fn str_of<'a>(op: &'a Value, key: &str) -> &'a str {
    op[key].as_str().unwrap_or_else(|| panic!("`{key}` must be a string in {op}"))
}

/// A CRDT type the vectors exercise: how one op applies and how its value reads.
trait VectorCrdt:
    Crdt<Delta: Serialize + DeserializeOwned> + Default + Clone + Serialize + DeserializeOwned
{
    /// Applies a mutator op at `self`, returning the delta to deliver.
    fn mutate(&mut self, op: &Value) -> Self::Delta;
    /// The observable value as JSON.
    fn json_value(&self) -> Value;
}

impl VectorCrdt for GCounter {
    fn mutate(&mut self, op: &Value) -> GCounter {
        assert_eq!(str_of(op, "op"), "increment");
        self.increment(ReplicaId(u64_of(op, "replica")), u64_of(op, "amount")).unwrap()
    }
    fn json_value(&self) -> Value {
        json!(u64::try_from(self.value()).unwrap())
    }
}

impl VectorCrdt for PNCounter {
    fn mutate(&mut self, op: &Value) -> PNCounter {
        let (r, n) = (ReplicaId(u64_of(op, "replica")), u64_of(op, "amount"));
        match str_of(op, "op") {
            "increment" => self.increment(r, n).unwrap(),
            "decrement" => self.decrement(r, n).unwrap(),
            other => panic!("PNCounter has no op {other}"),
        }
    }
    fn json_value(&self) -> Value {
        json!(i64::try_from(self.value()).unwrap())
    }
}

impl VectorCrdt for ORSet<String> {
    fn mutate(&mut self, op: &Value) -> Self::Delta {
        let value = str_of(op, "value").to_string();
        match str_of(op, "op") {
            "add" => self.add(ReplicaId(u64_of(op, "replica")), value),
            "remove" => self.remove(&value),
            other => panic!("ORSet has no op {other}"),
        }
    }
    fn json_value(&self) -> Value {
        json!(self.iter().cloned().collect::<Vec<_>>())
    }
}

impl VectorCrdt for LWWRegister<String> {
    fn mutate(&mut self, op: &Value) -> Self::Delta {
        assert_eq!(str_of(op, "op"), "set");
        let stamp = Hlc::new(u64_of(op, "time"), ReplicaId(u64_of(op, "replica")));
        self.set(str_of(op, "value").to_string(), stamp)
    }
    fn json_value(&self) -> Value {
        json!(self.get())
    }
}

impl VectorCrdt for BoundedCounter {
    fn mutate(&mut self, op: &Value) -> BoundedCounter {
        let (r, n) = (ReplicaId(u64_of(op, "replica")), u64_of(op, "amount"));
        match str_of(op, "op") {
            "increment" => self.increment(r, n).unwrap(),
            "decrement" => self.decrement(r, n).unwrap(),
            "transfer" => self.transfer(r, ReplicaId(u64_of(op, "to")), n).unwrap(),
            other => panic!("BoundedCounter has no op {other}"),
        }
    }
    fn json_value(&self) -> Value {
        json!(u64::try_from(self.value()).unwrap())
    }
}

impl VectorCrdt for ORMap<String, PNCounter> {
    fn mutate(&mut self, op: &Value) -> Self::Delta {
        let key = str_of(op, "key").to_string();
        let r = ReplicaId(op["replica"].as_u64().unwrap_or(0));
        match str_of(op, "op") {
            "increment" => self.update(r, key, |c| c.increment(r, u64_of(op, "amount"))).unwrap(),
            "decrement" => self.update(r, key, |c| c.decrement(r, u64_of(op, "amount"))).unwrap(),
            "remove" => self.remove(&key),
            other => panic!("PNCounterMap has no op {other}"),
        }
    }
    fn json_value(&self) -> Value {
        let map: serde_json::Map<String, Value> = self
            .keys()
            .map(|k| (k.clone(), json!(i64::try_from(self.get(k).unwrap().value()).unwrap())))
            .collect();
        Value::Object(map)
    }
}

/// Runs one case's ops over named replicas; returns `{name: {state_hex, value}}`.
fn run_crdt<T: VectorCrdt>(case: &Value) -> Value {
    let mut replicas: BTreeMap<String, T> = BTreeMap::new();
    for op in case["ops"].as_array().expect("ops") {
        if str_of(op, "op") == "merge" {
            let from = replicas.entry(str_of(op, "from").into()).or_default().clone();
            replicas.entry(str_of(op, "into").into()).or_default().merge(&from);
            continue;
        }
        let delta = replicas.entry(str_of(op, "at").into()).or_default().mutate(op);
        // The delta crosses the wire as bytes, as it would between bindings.
        let bytes = dcs_crdt::encode(&delta).unwrap();
        for to in op["deliver"].as_array().expect("deliver") {
            let delta = dcs_crdt::decode_delta::<T>(&bytes).unwrap();
            replicas
                .entry(to.as_str().expect("replica name").into())
                .or_default()
                .apply_delta(&delta);
        }
    }
    let out: serde_json::Map<String, Value> = replicas
        .iter()
        .map(|(name, state)| {
            let bytes = dcs_crdt::encode(state).unwrap();
            let back: T = dcs_crdt::decode_state(&bytes).unwrap();
            assert_eq!(dcs_crdt::encode(&back).unwrap(), bytes, "state bytes do not round-trip");
            (name.clone(), json!({ "state_hex": hex(&bytes), "value": state.json_value() }))
        })
        .collect();
    Value::Object(out)
}

fn discount(v: &Value, currency: Currency) -> Option<Discount> {
    if v.is_null() {
        return None;
    }
    if let Some(bps) = v["percent_bps"].as_u64() {
        return Some(Discount::Percent(u32::try_from(bps).unwrap()));
    }
    Some(Discount::Amount(Money::from_minor(
        v["amount_minor"].as_i64().expect("amount_minor"),
        currency,
    )))
}

/// Prices one cart case; returns its totals in minor units.
fn run_cart(case: &Value) -> Value {
    let currency = Currency::from_code(str_of(case, "currency")).unwrap();
    let policy = &case["policy"];
    let policy = TaxPolicy {
        pricing: match str_of(policy, "pricing") {
            "exclusive" => TaxPricing::Exclusive,
            "inclusive" => TaxPricing::Inclusive,
            other => panic!("pricing {other}"),
        },
        rounding: match str_of(policy, "rounding") {
            "per_line" => TaxRounding::PerLine,
            "per_invoice" => TaxRounding::PerInvoice,
            other => panic!("rounding {other}"),
        },
        mode: match str_of(policy, "mode") {
            "half_up" => RoundingMode::HalfUp,
            "half_even" => RoundingMode::HalfEven,
            other => panic!("mode {other}"),
        },
    };
    let mut table = TaxTable::new();
    for (category, rates) in case["rates"].as_object().expect("rates") {
        let rates = rates
            .as_array()
            .expect("rate list")
            .iter()
            .map(|r| {
                TaxRate::new(str_of(r, "name"), u32::try_from(u64_of(r, "ppm")).unwrap()).unwrap()
            })
            .collect();
        table.set(category, rates).unwrap();
    }
    let engine = TaxEngine::new(table, policy);
    let mut cart = Cart::new(currency);
    for line in case["lines"].as_array().expect("lines") {
        let price = Money::from_minor(line["unit_minor"].as_i64().expect("unit_minor"), currency);
        let product = Product::new(
            str_of(line, "sku"),
            str_of(line, "name"),
            str_of(line, "category"),
            price,
            str_of(line, "tax_category"),
        )
        .unwrap();
        cart.add(product, u32::try_from(u64_of(line, "quantity")).unwrap()).unwrap();
        let sku = Sku::new(str_of(line, "sku")).unwrap();
        cart.set_line_discount(&sku, discount(&line["discount"], currency)).unwrap();
    }
    cart.set_cart_discount(discount(&case["cart_discount"], currency)).unwrap();
    let t = cart.totals(&engine).unwrap().totals;
    json!({
        "currency": currency.code(),
        "subtotal": t.subtotal.minor(),
        "discount": t.discount.minor(),
        "net": t.net.minor(),
        "tax": t.tax.minor(),
        "total": t.total.minor(),
    })
}

#[test]
fn every_shared_vector_holds_in_rust() {
    let text = std::fs::read_to_string(path()).expect("the shared vector file");
    let mut doc: Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(doc["version"], 1);
    let bless = std::env::var_os("DCS_BLESS").is_some();
    let mut checked = 0;
    for case in doc["crdt"].as_array_mut().expect("crdt cases") {
        let got = match str_of(case, "type") {
            "GCounter" => run_crdt::<GCounter>(case),
            "PNCounter" => run_crdt::<PNCounter>(case),
            "ORSet" => run_crdt::<ORSet<String>>(case),
            "LWWRegister" => run_crdt::<LWWRegister<String>>(case),
            "BoundedCounter" => run_crdt::<BoundedCounter>(case),
            "PNCounterMap" => run_crdt::<ORMap<String, PNCounter>>(case),
            other => panic!("unknown CRDT type {other}"),
        };
        if bless {
            case["expect"] = got;
        } else {
            assert_eq!(got, case["expect"], "case {:?}", case["name"]);
        }
        checked += 1;
    }
    for case in doc["cart"].as_array_mut().expect("cart cases") {
        let got = run_cart(case);
        if bless {
            case["expect"] = got;
        } else {
            assert_eq!(got, case["expect"], "case {:?}", case["name"]);
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} cases");
    if bless {
        let mut text = serde_json::to_string_pretty(&doc).unwrap();
        text.push('\n');
        std::fs::write(path(), text).unwrap();
    }
}

/// A sealed event with what a reader needs to verify and open it, as JSON of hex strings.
mod sealed_fixture {
    use dcs_core::event::SignatureAlgorithm;
    use dcs_core::{AgentId, SovereignFinancialEvent};
    use dcs_crypto::{KeyRegistry, Keyring, MacKey, Verifier};
    use serde_json::{Value, json};

    use super::hex;

    fn unhex(v: &Value, key: &str) -> Vec<u8> {
        let s = v[key].as_str().unwrap_or_else(|| panic!("`{key}` must be a hex string"));
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// Writes the fixture of one sealed event.
    pub fn to_json(
        event: &SovereignFinancialEvent,
        keyring: &Keyring,
        mac_secret: &[u8],
        verifier: &Verifier,
        agent: &str,
        plaintext: &[u8],
    ) -> Value {
        json!({
            "algorithm": "ecdsa-p256",
            "agent": agent,
            "keyring_hex": hex(&keyring.to_bytes()),
            "mac_key_hex": hex(mac_secret),
            "public_key_hex": hex(&verifier.to_bytes()),
            "event_hex": hex(&postcard::to_allocvec(event).unwrap()),
            "plaintext_hex": hex(plaintext),
        })
    }

    /// Verifies the fixture's MAC and signature and opens it to its recorded plaintext.
    pub fn check(v: &Value) {
        assert_eq!(v["algorithm"], "ecdsa-p256");
        let keyring = Keyring::from_bytes(&unhex(v, "keyring_hex")).unwrap();
        let mac = MacKey::from_bytes(&unhex(v, "mac_key_hex")).unwrap();
        let verifier =
            Verifier::from_bytes(SignatureAlgorithm::EcdsaP256Sha256, &unhex(v, "public_key_hex"))
                .unwrap();
        let mut registry = KeyRegistry::new();
        registry.register(&AgentId::new(v["agent"].as_str().unwrap()).unwrap(), verifier);
        let event: SovereignFinancialEvent = postcard::from_bytes(&unhex(v, "event_hex")).unwrap();
        dcs_crypto::verify_event(&event, &mac, &registry).unwrap();
        let plain = dcs_crypto::open_event(&event, &keyring).unwrap();
        assert_eq!(plain.as_slice(), unhex(v, "plaintext_hex").as_slice());
    }
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../bindings/vectors").join(name)
}

/// Rust seals an event for Python to verify and open (`DCS_BLESS=1` writes a new one).
#[test]
fn a_rust_sealed_event_for_the_bindings() {
    use dcs_crypto::{CachePolicy, DataKeyCache, KekMaterial, Keyring, MacKey, Signer};
    use rand_core::OsRng;

    let path = fixture("sealed_event_from_rust.json");
    if std::env::var_os("DCS_BLESS").is_some() {
        let mut keyring = Keyring::new();
        keyring.create_kek("acme", "kek", KekMaterial::Random(&mut OsRng)).unwrap();
        let mac_secret = [0x5a_u8; 64];
        let mac = MacKey::from_bytes(&mac_secret).unwrap();
        let signer =
            Signer::generate(dcs_core::event::SignatureAlgorithm::EcdsaP256Sha256, &mut OsRng);
        let mut event = dcs_store::conformance::test_event("acme", 1, "rust-fixture-1");
        let plaintext = b"a sale sealed by Rust, opened by Python".to_vec();
        let mut cache = DataKeyCache::new(CachePolicy::default());
        let key = cache.sealing_key_for_event(&keyring, &event, 0, &mut OsRng).unwrap();
        dcs_crypto::seal_event(&mut event, &plaintext, key, &mac, &signer, &mut OsRng).unwrap();
        let v = sealed_fixture::to_json(
            &event,
            &keyring,
            &mac_secret,
            &signer.verifier(),
            "pos-1",
            &plaintext,
        );
        std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
    }
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    sealed_fixture::check(&v);
}

/// An event Python sealed (`bindings/python/tests/test_interop.py`) verifies and opens in Rust.
#[test]
fn a_python_sealed_event_opens_in_rust() {
    let path = fixture("sealed_event_from_python.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; write it with `DCS_BLESS=1 pytest bindings/python/tests/test_interop.py`",
            path.display()
        )
    });
    sealed_fixture::check(&serde_json::from_str(&text).unwrap());
}
