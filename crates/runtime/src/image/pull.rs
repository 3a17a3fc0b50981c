//! Pulling images from OCI distribution registries (through `oci-client`): manifest lists and
//! OCI indexes resolved to this platform, Docker schema 2 and OCI manifests, blobs downloaded
//! concurrently and verified by digest into the content store. Blobs already stored are not
//! fetched again, and a blob an interrupted pull left half-downloaded continues with a range
//! request, so a pull resumes where it stopped.

use futures::{StreamExt, TryStreamExt};
use oci_client::client::{BlobResponse, ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use serde_json::Value;

use super::digest::{Digest, DigestError};
use super::index::{ImageIndex, ImageRecord};
use super::platform;
use super::reference::Reference;
use super::registries::RegistriesConfig;
use super::store::{BlobWriter, ContentStore, StoreError};

/// Errors pulling an image.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("registry {registry}: {message}")]
    Registry { registry: String, message: String },
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Digest(#[from] DigestError),
    #[error("manifest {digest}: {message}")]
    Manifest { digest: String, message: String },
    #[error("no image for platform {0}")]
    NoPlatform(String),
}

const ACCEPT: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// Progress of a pull, reported per blob.
pub trait Progress: Send + Sync {
    fn blob(&self, digest: &str, done: u64, total: u64);
}

/// No progress output.
pub struct Quiet;

impl Progress for Quiet {
    fn blob(&self, _: &str, _: u64, _: u64) {}
}

/// Pulls `reference` into `store` and names it in `images`; tries the configured mirrors
/// first, then the registry itself.
pub async fn pull(
    reference: &Reference,
    store: &ContentStore,
    images: &mut ImageIndex,
    config: &RegistriesConfig,
    progress: &dyn Progress,
) -> Result<ImageRecord, PullError> {
    let mut last = None;
    for host in config.endpoints(&reference.domain) {
        match pull_from(&host, reference, store, config, progress).await {
            Ok(record) => {
                images.insert(&reference.to_string(), record.clone())?;
                return Ok(record);
            }
            Err(e) => {
                tracing::warn!(host = %host, error = %e, "pull from endpoint failed");
                last = Some(e);
            }
        }
    }
    Err(last
        .unwrap_or_else(|| PullError::Registry { registry: reference.domain.clone(), message: "no endpoint".into() }))
}

async fn pull_from(
    host: &str,
    reference: &Reference,
    store: &ContentStore,
    config: &RegistriesConfig,
    progress: &dyn Progress,
) -> Result<ImageRecord, PullError> {
    let registry_err = |m: String| PullError::Registry { registry: host.to_string(), message: m };
    let client = oci_client::Client::new(ClientConfig {
        protocol: ClientProtocol::HttpsExcept(config.plain_http_hosts()),
        ..Default::default()
    });
    let auth = match config.host(host).and_then(|h| h.auth.as_ref()) {
        Some(a) => RegistryAuth::Basic(a.username.clone(), a.password.clone()),
        None => RegistryAuth::Anonymous,
    };
    let target = format!(
        "{host}/{}{}",
        reference.path,
        match (&reference.digest, &reference.tag) {
            (Some(d), _) => format!("@{d}"),
            (None, Some(t)) => format!(":{t}"),
            (None, None) => ":latest".to_string(),
        }
    );
    let oci_ref: oci_client::Reference = target.parse().map_err(|e| registry_err(format!("{e}")))?;
    if matches!(auth, RegistryAuth::Basic(..)) {
        // Log in first, so that refused credentials say so (the client would otherwise go on
        // anonymously and report only "not authorized").
        client
            .auth(&oci_ref, &auth, oci_client::RegistryOperation::Pull)
            .await
            .map_err(|e| registry_err(format!("logging in as {}: {e}", auth_user(&auth))))?;
    }
    let (bytes, digest) =
        client.pull_manifest_raw(&oci_ref, &auth, ACCEPT).await.map_err(|e| registry_err(e.to_string()))?;
    let mut manifest_digest = verify_manifest(&bytes, &digest, reference.digest.as_ref())?;
    let mut manifest: Value = serde_json::from_slice(&bytes)
        .map_err(|e| PullError::Manifest { digest: manifest_digest.to_string(), message: e.to_string() })?;
    let mut manifest_bytes = bytes;
    if manifest.get("manifests").is_some() {
        let (os, arch) = platform();
        let chosen = manifest["manifests"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m["platform"]["os"] == os && m["platform"]["architecture"] == arch)
            .and_then(|m| m["digest"].as_str())
            .ok_or_else(|| PullError::NoPlatform(format!("{os}/{arch}")))?
            .to_string();
        let by_digest: oci_client::Reference =
            format!("{host}/{}@{chosen}", reference.path).parse().map_err(|e| registry_err(format!("{e}")))?;
        let (bytes, digest) =
            client.pull_manifest_raw(&by_digest, &auth, ACCEPT).await.map_err(|e| registry_err(e.to_string()))?;
        manifest_digest = verify_manifest(&bytes, &digest, Some(&chosen.parse()?))?;
        manifest = serde_json::from_slice(&bytes)
            .map_err(|e| PullError::Manifest { digest: manifest_digest.to_string(), message: e.to_string() })?;
        manifest_bytes = bytes;
    }
    let mut blobs = vec![manifest["config"].clone()];
    blobs.extend(manifest["layers"].as_array().cloned().unwrap_or_default());
    let mut wanted = Vec::new();
    for b in &blobs {
        let d: Digest = b["digest"].as_str().unwrap_or_default().parse()?;
        wanted.push((d, b["size"].as_u64()));
    }
    futures::stream::iter(wanted.iter().filter(|(d, _)| !store.contains(d)).map(|(d, size)| {
        let client = &client;
        let oci_ref = &oci_ref;
        async move { fetch_blob(client, oci_ref, d, *size, store, progress).await }
    }))
    .buffer_unordered(4)
    .try_collect::<Vec<()>>()
    .await?;
    store.ingest(&mut &manifest_bytes[..], Some(&manifest_digest), None)?;
    let size = wanted.iter().filter_map(|(_, s)| *s).sum();
    Ok(ImageRecord {
        manifest: manifest_digest.to_string(),
        config: wanted[0].0.to_string(),
        layers: wanted[1..].iter().map(|(d, _)| d.to_string()).collect(),
        size,
    })
}

fn auth_user(auth: &RegistryAuth) -> &str {
    match auth {
        RegistryAuth::Basic(user, _) => user,
        _ => "",
    }
}

/// The manifest's digest, checked against what the registry said and what the reference pins.
fn verify_manifest(bytes: &[u8], said: &str, pinned: Option<&Digest>) -> Result<Digest, PullError> {
    let actual = Digest::sha256_of(bytes);
    for expected in [said.parse::<Digest>().ok(), pinned.cloned()].into_iter().flatten() {
        if expected.algorithm() == "sha256" && expected != actual {
            return Err(PullError::Store(StoreError::DigestMismatch {
                expected: expected.to_string(),
                actual: actual.to_string(),
            }));
        }
    }
    Ok(actual)
}

/// Downloads one blob into the store, continuing a download an earlier pull left behind; a
/// resumed download that turns out corrupt is started again from nothing, once.
async fn fetch_blob(
    client: &oci_client::Client,
    image: &oci_client::Reference,
    digest: &Digest,
    size: Option<u64>,
    store: &ContentStore,
    progress: &dyn Progress,
) -> Result<(), PullError> {
    let mut attempt = 0;
    loop {
        // Another pull downloading the same blob holds its partial file: download privately.
        let writer = match store.resume(digest)? {
            Some(w) => w,
            None => store.writer(Some(digest.clone()))?,
        };
        let resumed = writer.written() > 0;
        match download(client, image, digest, size, writer, progress).await {
            Err(PullError::Store(StoreError::DigestMismatch { .. } | StoreError::SizeMismatch { .. }))
                if resumed && attempt == 0 =>
            {
                tracing::warn!(digest = %digest, "the partial download was corrupt; downloading it again");
                attempt += 1;
            }
            other => return other,
        }
    }
}

async fn download(
    client: &oci_client::Client,
    image: &oci_client::Reference,
    digest: &Digest,
    size: Option<u64>,
    mut writer: BlobWriter,
    progress: &dyn Progress,
) -> Result<(), PullError> {
    let registry_err = |m: String| PullError::Registry { registry: image.registry().to_string(), message: m };
    let d = digest.to_string();
    let offset = writer.written();
    if size.is_some_and(|s| offset >= s) {
        // All there (or too much): the commit verifies.
        writer.commit(size)?;
        return Ok(());
    }
    let mut stream = None;
    if offset > 0 {
        tracing::info!(digest = %d, offset, "resuming a partial download");
        match client.pull_blob_stream_partial(image, d.as_str(), offset, None).await {
            Ok(BlobResponse::Partial(s)) => stream = Some(s),
            Ok(BlobResponse::Full(s)) => {
                writer.restart()?;
                stream = Some(s);
            }
            Err(e) => {
                tracing::warn!(digest = %d, error = %e, "the registry refused to resume; downloading it all");
                writer.restart()?;
            }
        }
    }
    let mut stream = match stream {
        Some(s) => s,
        None => client.pull_blob_stream(image, d.as_str()).await.map_err(|e| registry_err(e.to_string()))?,
    };
    let total = size.or(stream.content_length.map(|l| l + writer.written())).unwrap_or(0);
    while let Some(chunk) = stream.stream.next().await {
        let chunk = chunk.map_err(|e| registry_err(e.to_string()))?;
        writer.write(&chunk)?;
        progress.blob(&d, writer.written(), total);
    }
    writer.commit(size)?;
    Ok(())
}
