//! RFC 6962 inclusion and consistency proof vectors of transparency-dev/merkle (folder
//! `testdata`, commit 417fb0c3; see `tests/vectors/README.md`). One test per file: every
//! `happy-path` case must verify (and our generator must reproduce its proof from the
//! Certificate Transparency test leaves), every `wantErr: true` case must be rejected.
//!
//! The files carry hashes as base64 byte strings of any length; a field that is not exactly 32
//! bytes cannot become a `MerkleHash` and the case is rejected at that typed boundary (that is how
//! the "garbage" and "empty" cases are caught before any hashing).

use std::path::Path;

use base64::Engine as _;
use provenance_protocol::merkle::{
    ConsistencyProof, InclusionProof, MemoryNodeStore, MerkleHash, MerkleLog, consistency_proof,
    inclusion_proof, leaf_hash, root_at, verify_consistency, verify_inclusion,
};
use serde::Deserialize;

const VECTOR_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/rfc6962-proofs");

/// `inclusionProbe` of transparency-dev/merkle `testdata/gen.go`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct InclusionProbe {
    leaf_idx: u64,
    tree_size: u64,
    root: String,
    leaf_hash: String,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

/// `consistencyProbe` of transparency-dev/merkle `testdata/gen.go`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConsistencyProbe {
    size1: u64,
    size2: u64,
    root1: String,
    root2: String,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

/// The leaf data of the Certificate Transparency reference tree the vectors are built from.
const CT_LEAVES: [&[u8]; 8] = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
];

fn ct_store() -> MemoryNodeStore {
    let mut log = MerkleLog::new();
    let mut store = MemoryNodeStore::new();
    for data in CT_LEAVES {
        store
            .insert_all(log.append(leaf_hash(data)).unwrap())
            .unwrap();
    }
    store
}

/// Base64 field -> hash; `Err` names the field when it is not a 32-byte hash.
fn hash(field: &str, base64_text: &str) -> Result<MerkleHash, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(base64_text)
        .map_err(|e| format!("{field} is not base64: {e}"))?;
    MerkleHash::from_slice(&bytes).map_err(|e| format!("{field}: {e}"))
}

fn path(proof: &Option<Vec<String>>) -> Result<Vec<MerkleHash>, String> {
    proof
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, h)| hash(&format!("proof[{i}]"), h))
        .collect()
}

fn read(file: &str) -> String {
    let full = Path::new(VECTOR_DIR).join(file);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// `Ok` if the case is accepted, `Err(reason)` if rejected.
fn check_inclusion(probe: &InclusionProbe) -> Result<InclusionProof, String> {
    let leaf = hash("leafHash", &probe.leaf_hash)?;
    let root = hash("root", &probe.root)?;
    let proof = InclusionProof {
        leaf_index: probe.leaf_idx,
        tree_size: probe.tree_size,
        path: path(&probe.proof)?,
    };
    verify_inclusion(&leaf, &proof, &root).map_err(|e| e.to_string())?;
    Ok(proof)
}

fn check_consistency(probe: &ConsistencyProbe) -> Result<ConsistencyProof, String> {
    let old_root = hash("root1", &probe.root1)?;
    let new_root = hash("root2", &probe.root2)?;
    let proof = ConsistencyProof {
        old_size: probe.size1,
        new_size: probe.size2,
        path: path(&probe.proof)?,
    };
    verify_consistency(&old_root, &new_root, &proof).map_err(|e| e.to_string())?;
    Ok(proof)
}

fn run_inclusion(file: &str) {
    let probe: InclusionProbe =
        serde_json::from_str(&read(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    match (check_inclusion(&probe), probe.want_err) {
        (Ok(proof), false) => {
            // Cross-check generation: the proof must be what our store-backed generator makes.
            let leaf = hash("leafHash", &probe.leaf_hash).unwrap();
            let root = hash("root", &probe.root).unwrap();
            let store = ct_store();
            if proof.tree_size <= 8 && root_at(&store, proof.tree_size).unwrap() == root {
                let index = usize::try_from(proof.leaf_index).unwrap();
                assert_eq!(leaf, leaf_hash(CT_LEAVES[index]), "{file}: leaf hash");
                let generated = inclusion_proof(&store, proof.leaf_index, proof.tree_size);
                assert_eq!(generated.unwrap(), proof, "{file}: generated proof");
            } else {
                // single-entry/: a one-leaf tree over the data "data" (verify_test.go).
                assert_eq!((proof.leaf_index, proof.tree_size), (0, 1), "{file}");
                assert_eq!(leaf, leaf_hash(b"data"), "{file}: leaf hash");
                assert!(proof.path.is_empty(), "{file}");
            }
        }
        (Err(reason), true) => {
            assert!(!reason.is_empty(), "{file}: rejection must say why");
        }
        (Ok(_), true) => panic!("{file} ({}): accepted, but must be rejected", probe.desc),
        (Err(reason), false) => panic!("{file} ({}): rejected: {reason}", probe.desc),
    }
}

fn run_consistency(file: &str) {
    let probe: ConsistencyProbe =
        serde_json::from_str(&read(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    match (check_consistency(&probe), probe.want_err) {
        (Ok(proof), false) => {
            let store = ct_store();
            let old_root = hash("root1", &probe.root1).unwrap();
            let new_root = hash("root2", &probe.root2).unwrap();
            assert_eq!(root_at(&store, proof.old_size).unwrap(), old_root, "{file}");
            assert_eq!(root_at(&store, proof.new_size).unwrap(), new_root, "{file}");
            let generated = consistency_proof(&store, proof.old_size, proof.new_size);
            assert_eq!(generated.unwrap(), proof, "{file}: generated proof");
        }
        (Err(reason), true) => {
            assert!(!reason.is_empty(), "{file}: rejection must say why");
        }
        (Ok(_), true) => panic!("{file} ({}): accepted, but must be rejected", probe.desc),
        (Err(reason), false) => panic!("{file} ({}): rejected: {reason}", probe.desc),
    }
}

fn run_vector(file: &str) {
    if file.starts_with("inclusion/") {
        run_inclusion(file);
    } else if file.starts_with("consistency/") {
        run_consistency(file);
    } else {
        panic!("{file}: unknown vector kind");
    }
}

macro_rules! vector_tests {
    ($($name:ident => $file:literal,)*) => {
        $(
            #[test]
            fn $name() {
                run_vector($file);
            }
        )*

        /// Every file listed above, to check none in the folder is forgotten.
        const LISTED: &[&str] = &[$($file),*];
    };
}

vector_tests! {
    consistency_0_happy_path => "consistency/0/happy-path.json",
    consistency_1_empty_proof => "consistency/1/empty-proof.json",
    consistency_1_happy_path => "consistency/1/happy-path.json",
    consistency_1_modified_proof_0_bit_4 => "consistency/1/modified-proof@0-bit-@4.json",
    consistency_1_modified_proof_1_bit_4 => "consistency/1/modified-proof@1-bit-@4.json",
    consistency_1_modified_proof_2_bit_4 => "consistency/1/modified-proof@2-bit-@4.json",
    consistency_1_preceding_garbage => "consistency/1/preceding-garbage.json",
    consistency_1_preceding_proof_0 => "consistency/1/preceding-proof-@0.json",
    consistency_1_preceding_root1 => "consistency/1/preceding-root1.json",
    consistency_1_preceding_root2 => "consistency/1/preceding-root2.json",
    consistency_1_size1_xor_2 => "consistency/1/size1-XOR-@2.json",
    consistency_1_size1_plus_1 => "consistency/1/size1-plus-@1.json",
    consistency_1_size1_sub_1 => "consistency/1/size1-sub-@1.json",
    consistency_1_size2_div_2 => "consistency/1/size2-div-@2.json",
    consistency_1_size2_mul_2 => "consistency/1/size2-mul-@2.json",
    consistency_1_swapped_roots => "consistency/1/swapped-roots.json",
    consistency_1_trailing_garbage => "consistency/1/trailing-garbage.json",
    consistency_1_trailing_root1 => "consistency/1/trailing-root1.json",
    consistency_1_trailing_root2 => "consistency/1/trailing-root2.json",
    consistency_1_truncated_proof => "consistency/1/truncated-proof.json",
    consistency_1_wrong_root1 => "consistency/1/wrong-root1.json",
    consistency_1_wrong_root2 => "consistency/1/wrong-root2.json",
    consistency_2_empty_proof => "consistency/2/empty-proof.json",
    consistency_2_happy_path => "consistency/2/happy-path.json",
    consistency_2_modified_proof_0_bit_4 => "consistency/2/modified-proof@0-bit-@4.json",
    consistency_2_modified_proof_1_bit_4 => "consistency/2/modified-proof@1-bit-@4.json",
    consistency_2_modified_proof_2_bit_4 => "consistency/2/modified-proof@2-bit-@4.json",
    consistency_2_preceding_garbage => "consistency/2/preceding-garbage.json",
    consistency_2_preceding_proof_0 => "consistency/2/preceding-proof-@0.json",
    consistency_2_preceding_root1 => "consistency/2/preceding-root1.json",
    consistency_2_preceding_root2 => "consistency/2/preceding-root2.json",
    consistency_2_size1_xor_2 => "consistency/2/size1-XOR-@2.json",
    consistency_2_size1_plus_1 => "consistency/2/size1-plus-@1.json",
    consistency_2_size1_sub_1 => "consistency/2/size1-sub-@1.json",
    consistency_2_size2_div_2 => "consistency/2/size2-div-@2.json",
    consistency_2_size2_mul_2 => "consistency/2/size2-mul-@2.json",
    consistency_2_swapped_roots => "consistency/2/swapped-roots.json",
    consistency_2_trailing_garbage => "consistency/2/trailing-garbage.json",
    consistency_2_trailing_root1 => "consistency/2/trailing-root1.json",
    consistency_2_trailing_root2 => "consistency/2/trailing-root2.json",
    consistency_2_truncated_proof => "consistency/2/truncated-proof.json",
    consistency_2_wrong_root1 => "consistency/2/wrong-root1.json",
    consistency_2_wrong_root2 => "consistency/2/wrong-root2.json",
    inclusion_0_empty_root => "inclusion/0/empty-root.json",
    inclusion_0_happy_path => "inclusion/0/happy-path.json",
    inclusion_0_leafidx_xor_2 => "inclusion/0/leafIdx-XOR-@2.json",
    inclusion_0_leafidx_plus_1 => "inclusion/0/leafIdx-plus-@1.json",
    inclusion_0_leafidx_sub_1 => "inclusion/0/leafIdx-sub-@1.json",
    inclusion_0_preceding_garbage => "inclusion/0/preceding-garbage.json",
    inclusion_0_preceding_root => "inclusion/0/preceding-root.json",
    inclusion_0_random_root => "inclusion/0/random-root.json",
    inclusion_0_trailing_garbage => "inclusion/0/trailing-garbage.json",
    inclusion_0_trailing_root => "inclusion/0/trailing-root.json",
    inclusion_0_treesize_div_2 => "inclusion/0/treeSize-div-@2.json",
    inclusion_0_treesize_mul_2 => "inclusion/0/treeSize-mul-@2.json",
    inclusion_0_wrong_leaf => "inclusion/0/wrong-leaf.json",
    inclusion_1_empty_root => "inclusion/1/empty-root.json",
    inclusion_1_happy_path => "inclusion/1/happy-path.json",
    inclusion_1_inserted_component => "inclusion/1/inserted-component.json",
    inclusion_1_leafidx_xor_2 => "inclusion/1/leafIdx-XOR-@2.json",
    inclusion_1_leafidx_plus_1 => "inclusion/1/leafIdx-plus-@1.json",
    inclusion_1_leafidx_sub_1 => "inclusion/1/leafIdx-sub-@1.json",
    inclusion_1_modified_proof_0_bit_3 => "inclusion/1/modified-proof[0]-bit-@3.json",
    inclusion_1_modified_proof_1_bit_3 => "inclusion/1/modified-proof[1]-bit-@3.json",
    inclusion_1_modified_proof_2_bit_3 => "inclusion/1/modified-proof[2]-bit-@3.json",
    inclusion_1_preceding_garbage => "inclusion/1/preceding-garbage.json",
    inclusion_1_preceding_root => "inclusion/1/preceding-root.json",
    inclusion_1_random_root => "inclusion/1/random-root.json",
    inclusion_1_removed_component => "inclusion/1/removed-component.json",
    inclusion_1_trailing_garbage => "inclusion/1/trailing-garbage.json",
    inclusion_1_trailing_root => "inclusion/1/trailing-root.json",
    inclusion_1_treesize_div_2 => "inclusion/1/treeSize-div-@2.json",
    inclusion_1_treesize_mul_2 => "inclusion/1/treeSize-mul-@2.json",
    inclusion_1_wrong_leaf => "inclusion/1/wrong-leaf.json",
    inclusion_2_empty_root => "inclusion/2/empty-root.json",
    inclusion_2_happy_path => "inclusion/2/happy-path.json",
    inclusion_2_inserted_component => "inclusion/2/inserted-component.json",
    inclusion_2_leafidx_xor_2 => "inclusion/2/leafIdx-XOR-@2.json",
    inclusion_2_leafidx_plus_1 => "inclusion/2/leafIdx-plus-@1.json",
    inclusion_2_leafidx_sub_1 => "inclusion/2/leafIdx-sub-@1.json",
    inclusion_2_modified_proof_0_bit_3 => "inclusion/2/modified-proof[0]-bit-@3.json",
    inclusion_2_modified_proof_1_bit_3 => "inclusion/2/modified-proof[1]-bit-@3.json",
    inclusion_2_modified_proof_2_bit_3 => "inclusion/2/modified-proof[2]-bit-@3.json",
    inclusion_2_preceding_garbage => "inclusion/2/preceding-garbage.json",
    inclusion_2_preceding_root => "inclusion/2/preceding-root.json",
    inclusion_2_random_root => "inclusion/2/random-root.json",
    inclusion_2_removed_component => "inclusion/2/removed-component.json",
    inclusion_2_trailing_garbage => "inclusion/2/trailing-garbage.json",
    inclusion_2_trailing_root => "inclusion/2/trailing-root.json",
    inclusion_2_treesize_div_2 => "inclusion/2/treeSize-div-@2.json",
    inclusion_2_treesize_mul_2 => "inclusion/2/treeSize-mul-@2.json",
    inclusion_2_wrong_leaf => "inclusion/2/wrong-leaf.json",
    inclusion_single_entry_empty_leaf => "inclusion/single-entry/empty-leaf.json",
    inclusion_single_entry_empty_root_and_leaf => "inclusion/single-entry/empty-root-and-leaf.json",
    inclusion_single_entry_empty_root => "inclusion/single-entry/empty-root.json",
    inclusion_single_entry_matching_root_and_leaf => "inclusion/single-entry/matching-root-and-leaf.json",
}

fn json_files(dir: &Path, relative: &str, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let relative = if relative.is_empty() {
            name
        } else {
            format!("{relative}/{name}")
        };
        if entry.file_type().unwrap().is_dir() {
            json_files(&entry.path(), &relative, out);
        } else if relative.ends_with(".json") {
            out.push(relative);
        }
    }
}

#[test]
fn every_vector_file_has_a_test() {
    let mut on_disk = Vec::new();
    json_files(Path::new(VECTOR_DIR), "", &mut on_disk);
    on_disk.sort();
    let mut listed: Vec<String> = LISTED.iter().map(|f| f.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
    assert_eq!(listed.len(), 96);
}
