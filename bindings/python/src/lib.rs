//! Python bindings of DCS: the module `dcs._dcs`, re-exported by the `dcs` package.
//!
//! The classes wrap the Rust SDK one to one: CRDTs (`crdt`), money, cart and tax (`money`),
//! keys, sales and sealed events (`events`), and the SQLite event store (`store`). Errors
//! become the `dcs.DcsError` hierarchy (`errors`); store I/O and crypto run without the GIL.

mod args;
mod crdt;
mod errors;
mod events;
mod money;
mod store;

use pyo3::prelude::*;

/// The native module.
#[pymodule]
fn _dcs(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py_ = m.py();
    for (name, ty) in [
        ("DcsError", py_.get_type::<errors::DcsError>()),
        ("CoreError", py_.get_type::<errors::CoreError>()),
        ("MoneyError", py_.get_type::<errors::MoneyError>()),
        ("CrdtError", py_.get_type::<errors::CrdtError>()),
        ("CryptoError", py_.get_type::<errors::CryptoError>()),
        ("StoreError", py_.get_type::<errors::StoreError>()),
        ("ConflictError", py_.get_type::<errors::ConflictError>()),
        ("TamperedError", py_.get_type::<errors::TamperedError>()),
    ] {
        m.add(name, ty)?;
    }
    m.add_class::<crdt::GCounter>()?;
    m.add_class::<crdt::PNCounter>()?;
    m.add_class::<crdt::ORSet>()?;
    m.add_class::<crdt::LWWRegister>()?;
    m.add_class::<crdt::BoundedCounter>()?;
    m.add_class::<crdt::PNCounterMap>()?;
    m.add_class::<money::Money>()?;
    m.add_class::<money::Product>()?;
    m.add_class::<money::TaxEngine>()?;
    m.add_class::<money::Cart>()?;
    m.add_class::<money::CartTotals>()?;
    m.add_class::<events::Keyring>()?;
    m.add_class::<events::MacKey>()?;
    m.add_class::<events::Signer>()?;
    m.add_class::<events::KeyRegistry>()?;
    m.add_class::<events::DomainEvent>()?;
    m.add_class::<events::Sale>()?;
    m.add_class::<events::Event>()?;
    m.add_class::<events::Terminal>()?;
    store::register(m)?;
    m.add_function(wrap_pyfunction!(events::open_event, m)?)?;
    m.add_function(wrap_pyfunction!(events::verify_event, m)?)?;
    Ok(())
}
