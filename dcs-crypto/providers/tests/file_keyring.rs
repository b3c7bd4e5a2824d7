//! FileKeyring: the provider suite, file permissions, atomic replacement and bad files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use dcs_crypto::{CryptoError, KekRef, KekState, KeyProvider};
use dcs_keys::{FileKeyring, KekAdmin, KeysError};

fn fresh() -> (tempfile::TempDir, FileKeyring) {
    let dir = tempfile::tempdir().unwrap();
    let k = FileKeyring::create(dir.path().join("keyring.dcsk")).unwrap();
    (dir, k)
}

#[test]
fn suite_round_trip() {
    common::round_trip(&fresh().1, 1);
}

#[test]
fn suite_rotation_and_rewrap() {
    common::rotation_and_rewrap(&fresh().1, 2);
}

#[test]
fn suite_wrong_tenant() {
    common::wrong_tenant_refused(&fresh().1, 3);
}

#[test]
fn suite_crypto_shredding() {
    common::crypto_shredding(&fresh().1, 4);
}

#[test]
fn file_is_owner_only_and_survives_reopen() {
    let (dir, k) = fresh();
    let mut rng = common::fixtures::rng(5);
    let v1 = k.create_kek("acme", "acme/kek", &mut rng).unwrap();
    let dk = k.generate_data_key("acme", &mut rng).unwrap();
    k.rotate("acme/kek", &mut rng).unwrap();
    k.retire(&v1).unwrap();
    let path = dir.path().join("keyring.dcsk");
    assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    // No temporary files are left behind; the lock file is owner-only too.
    let mut names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["keyring.dcsk", "keyring.dcsk.lock"]);
    let lock = dir.path().join("keyring.dcsk.lock");
    assert_eq!(fs::metadata(lock).unwrap().permissions().mode() & 0o777, 0o600);

    let back = FileKeyring::open(&path).unwrap();
    assert_eq!(back.current_kek("acme").unwrap(), KekRef::new("acme/kek", 2));
    assert_eq!(back.read_with(|r| r.state(&v1)).unwrap(), KekState::Retired);
    assert!(matches!(
        back.unwrap("acme", &dk.wrapped.kek, &dk.id, &dk.wrapped.bytes),
        Err(CryptoError::RetiredKek { .. })
    ));
    // Debug never prints key material.
    let shown = format!("{back:?}");
    assert!(shown.contains("acme/kek") && shown.contains("redacted"), "{shown}");
    assert!(!format!("{:?}", dk.key).contains(&format!("{}", dk.key.expose_secret()[0])));
}

#[test]
fn group_or_world_access_is_refused_with_chmod_advice() {
    let (dir, k) = fresh();
    k.create_kek("acme", "acme/kek", &mut common::fixtures::rng(6)).unwrap();
    let path = dir.path().join("keyring.dcsk");
    for mode in [0o640, 0o604, 0o660, 0o644, 0o602] {
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        let err = FileKeyring::open(&path).unwrap_err();
        assert!(matches!(err, KeysError::PermissionsTooOpen { .. }), "{mode:o}: {err}");
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }
    fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
    FileKeyring::open(&path).unwrap();
}

#[test]
fn corrupt_foreign_or_missing_files_are_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keyring.dcsk");
    let cases: [&[u8]; 3] = [b"", b"{\"not\": \"a keyring\"}", &[0xff; 100]];
    for bytes in cases {
        fs::write(&path, bytes).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let err = FileKeyring::open(&path).unwrap_err();
        assert!(matches!(err, KeysError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("left untouched"), "{err}");
        assert!(matches!(
            FileKeyring::open_or_create(&path).unwrap_err(),
            KeysError::Corrupt { .. }
        ));
        assert!(matches!(FileKeyring::create(&path).unwrap_err(), KeysError::AlreadyExists { .. }));
        assert_eq!(fs::read(&path).unwrap(), bytes, "nothing overwritten");
    }
    // A keyring cut short is refused too.
    let good = dir.path().join("good.dcsk");
    let k = FileKeyring::create(&good).unwrap();
    k.create_kek("acme", "acme/kek", &mut common::fixtures::rng(7)).unwrap();
    let full = fs::read(&good).unwrap();
    fs::write(&good, &full[..full.len() / 2]).unwrap();
    assert!(matches!(FileKeyring::open(&good).unwrap_err(), KeysError::Corrupt { .. }));
    let missing = FileKeyring::open(dir.path().join("nope")).unwrap_err();
    assert!(matches!(missing, KeysError::Io { action: "open", .. }), "{missing}");
}

#[test]
fn a_failed_change_leaves_file_and_memory_unchanged() {
    let (dir, k) = fresh();
    let mut rng = common::fixtures::rng(8);
    k.create_kek("acme", "acme/kek", &mut rng).unwrap();
    let path = dir.path().join("keyring.dcsk");
    let before = fs::read(&path).unwrap();
    // Rejected by the keyring: nothing saved.
    assert!(k.create_kek("globex", "acme/kek", &mut rng).is_err());
    assert_eq!(fs::read(&path).unwrap(), before);
    // The directory turns read-only: the save fails, memory keeps the old keyring.
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o500)).unwrap();
    let res = k.rotate("acme/kek", &mut rng);
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
    if nix_is_root() {
        // Root ignores directory permissions; the save went through.
        res.unwrap();
        assert_eq!(k.current_kek("acme").unwrap().version, 2);
    } else {
        assert!(matches!(res, Err(KeysError::Io { .. })));
        assert_eq!(k.current_kek("acme").unwrap().version, 1);
        assert_eq!(fs::read(&path).unwrap(), before);
    }
    assert_eq!(
        FileKeyring::open(&path).unwrap().current_kek("acme").unwrap(),
        k.current_kek("acme").unwrap()
    );
}

#[test]
fn two_handles_on_one_file_keep_each_others_changes() {
    let (dir, a) = fresh();
    let path = dir.path().join("keyring.dcsk");
    let b = FileKeyring::open(&path).unwrap();
    let mut rng = common::fixtures::rng(9);
    a.create_kek("acme", "acme/kek", &mut rng).unwrap();
    // b opened before a's change; its own change starts from the file, not from its memory.
    b.create_kek("globex", "globex/kek", &mut rng).unwrap();
    assert_eq!(b.current_kek("acme").unwrap(), KekRef::new("acme/kek", 1));
    assert!(matches!(a.current_kek("globex"), Err(CryptoError::UnknownKek { .. })));
    a.reload().unwrap();
    assert_eq!(a.current_kek("globex").unwrap(), KekRef::new("globex/kek", 1));
    let threads: Vec<_> = (0..4u8)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                let k = FileKeyring::open(&path).unwrap();
                let mut rng = common::fixtures::rng(20 + i);
                k.create_kek(&format!("t{i}"), &format!("t{i}/kek"), &mut rng).unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let all = FileKeyring::open(&path).unwrap();
    for i in 0..4 {
        assert_eq!(all.current_kek(&format!("t{i}")).unwrap().version, 1, "t{i} kept");
    }
}

/// Whether the tests run as root (who may write anywhere).
fn nix_is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    let probe = tempfile::tempdir().unwrap();
    let p = probe.path().join("p");
    fs::write(&p, b"").unwrap();
    fs::metadata(&p).unwrap().uid() == 0
}

#[test]
fn a_reloading_handle_sees_a_rotation_made_elsewhere() {
    use dcs_crypto::provider::DATA_KEY_ID_LEN;
    let (dir, admin) = fresh();
    let path = dir.path().join("keyring.dcsk");
    let mut rng = common::fixtures::rng(3);
    admin.create_kek("acme", "acme/kek", &mut rng).unwrap();
    let daemon =
        FileKeyring::open(&path).unwrap().with_reload_every(std::time::Duration::from_millis(50));
    let plain = FileKeyring::open(&path).unwrap();
    assert_eq!(daemon.current_kek("acme").unwrap(), KekRef::new("acme/kek", 1));

    // Another process rotates; a copy that never reloads keeps sealing under version 1.
    assert_eq!(admin.rotate("acme/kek", &mut rng).unwrap(), KekRef::new("acme/kek", 2));
    assert_eq!(plain.current_kek("acme").unwrap().version, 1);

    // An envelope under version 2 opens at once, before the interval has passed.
    let key = admin.generate_data_key("acme", &mut rng).unwrap();
    let id: [u8; DATA_KEY_ID_LEN] = key.id;
    let opened = daemon.unwrap("acme", &key.wrapped.kek, &id, &key.wrapped.bytes).unwrap();
    assert_eq!(opened.expose_secret(), key.key.expose_secret(), "the same data key");
    assert!(matches!(
        plain.unwrap("acme", &key.wrapped.kek, &id, &key.wrapped.bytes),
        Err(CryptoError::UnknownKekVersion { .. })
    ));
    // And the daemon's current KEK moves to version 2 (at most one interval later).
    std::thread::sleep(std::time::Duration::from_millis(60));
    assert_eq!(daemon.current_kek("acme").unwrap(), KekRef::new("acme/kek", 2));

    // A file that cannot be read keeps the keyring as it was.
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    admin.rotate("acme/kek", &mut rng).unwrap_err();
    std::thread::sleep(std::time::Duration::from_millis(60));
    assert_eq!(daemon.current_kek("acme").unwrap(), KekRef::new("acme/kek", 2));
}
