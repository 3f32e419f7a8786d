//! The software (`analyses/`) and hardware (`coretypes/`) catalogues.

use serde_json::{Value, json};

const ALL_CORES: [&str; 6] = [
    "standard-plus",
    "emerald",
    "onyx",
    "nickel",
    "hpc-3",
    "test",
];

fn version(version: &str, code: &str) -> Value {
    json!({
        "eula": null,
        "allowedCoreTypes": ALL_CORES,
        "stdCommand": "",
        "version": version,
        "mpiCommand": "",
        "versionCode": code,
        "smpCommand": "",
    })
}

fn analysis(code: &str, name: &str, versions: Vec<Value>) -> Value {
    json!({
        "industries": [{ "name": "Aerospace", "icon": null }],
        "code": code,
        "description": format!("<p>{name}</p>"),
        "versions": versions,
        "supportDesks": [],
        "hasRescaleLicense": code != "user_included",
        "vendorName": "",
        "pricing": "",
        "hasShortTermLicense": false,
        "licenseSettings": [],
        "optimizerType": null,
        "thumbnail": format!("/static/img/analyses_images/{code}.png"),
        "resources": [],
        "name": name,
    })
}

/// The analyses the fake knows.
pub fn analyses() -> Vec<Value> {
    vec![
        analysis(
            "user_included",
            "Custom User-Defined Software",
            vec![version("0", "0")],
        ),
        analysis(
            "user_included_mpi",
            "Custom User-Defined MPI Software",
            vec![version("0", "0")],
        ),
        analysis(
            "openfoam",
            "OpenFOAM",
            vec![
                version("2.3.1", "2.3.1-openmpi"),
                version("v2306", "v2306-intelmpi"),
            ],
        ),
        analysis(
            "abaqus",
            "Abaqus",
            vec![
                version("6.14-1", "6.14.1-pcmpi"),
                version("2023", "2023-intelmpi"),
            ],
        ),
        analysis("lsdyna", "LS-DYNA", vec![version("R13.0", "13.0-smp")]),
    ]
}

/// The display name of an analysis code, if the catalogue has it.
pub fn analysis_name(code: &str) -> Option<&'static str> {
    Some(match code {
        "user_included" => "Custom User-Defined Software",
        "user_included_mpi" => "Custom User-Defined MPI Software",
        "openfoam" => "OpenFOAM",
        "abaqus" => "Abaqus",
        "lsdyna" => "LS-DYNA",
        _ => return None,
    })
}

#[allow(clippy::too_many_arguments)]
fn core_type(
    code: &str,
    name: &str,
    cores: &[u32],
    price: f64,
    low: &str,
    memory: u32,
    walltime_required: bool,
    deprecated: bool,
    order: Option<u32>,
) -> Value {
    json!({
        "hasSsd": true,
        "code": code,
        "compute": "3.00",
        "name": name,
        "isDeprecated": deprecated,
        "price": price,
        "remoteVizAllowed": !deprecated,
        "storage": 40,
        "lowPriorityPrice": low,
        "walltimeRequired": walltime_required,
        "displayOrder": order,
        "io": "Standard",
        "memory": memory,
        "cores": cores,
        "isPrimary": order == Some(1),
        "processorInfo": format!("{name} processor"),
        "storageIo": "",
        "description": name,
    })
}

/// The core types the fake knows.
pub fn core_types() -> Vec<Value> {
    vec![
        core_type(
            "standard-plus",
            "Marble",
            &[1, 2, 4, 8],
            0.1,
            "0.050",
            3750,
            false,
            false,
            Some(1),
        ),
        core_type(
            "emerald",
            "Emerald",
            &[1, 2, 4, 8, 16, 32],
            0.22,
            "0.110",
            4000,
            false,
            false,
            Some(2),
        ),
        core_type(
            "onyx",
            "Onyx",
            &[1, 2, 4, 9, 18, 36],
            0.31,
            "0.155",
            2000,
            false,
            false,
            Some(3),
        ),
        core_type(
            "nickel",
            "Nickel",
            &[2, 4, 8, 16],
            0.45,
            "0.225",
            7500,
            true,
            false,
            Some(4),
        ),
        core_type(
            "hpc-3",
            "Tungsten",
            &[4, 8, 16, 32],
            0.5,
            "0.250",
            8000,
            false,
            false,
            Some(5),
        ),
        core_type(
            "test",
            "HPC Test",
            &[1],
            0.25,
            "0.100",
            1500,
            false,
            true,
            None,
        ),
    ]
}

/// The object form of a core type (`{"code": ..., "name": ..., ...}`).
pub fn core_type_object(code: &str) -> Value {
    core_types()
        .into_iter()
        .find(|c| c["code"] == code)
        .unwrap_or_else(|| json!({ "code": code, "name": code }))
}

/// Memory per core (MB) of a core type, for `coreSummary`.
pub fn memory_per_core(code: &str) -> u64 {
    core_types()
        .iter()
        .find(|c| c["code"] == code)
        .and_then(|c| c["memory"].as_u64())
        .unwrap_or(3750)
}
