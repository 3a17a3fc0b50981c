//! OCI images: references, digests, the content store and the image index.

mod digest;
mod gc;
mod import;
mod index;
mod pull;
mod reference;
mod registries;
mod store;
pub mod testing;
mod unpack;

pub use digest::{Digest, DigestError};
pub use gc::{collect, Collected};
pub use import::{import_archive, import_oci_layout, ImportError};
pub use index::{ImageIndex, ImageRecord};
pub use pull::{pull, Progress, PullError, Quiet};
pub use reference::{Reference, ReferenceError};
pub use registries::{Auth, RegistriesConfig, RegistriesError};
pub use store::{BlobWriter, ContentStore, StoreError};
pub use unpack::{apply_tar, layer_dir, unpack_image, unpack_layer, HostFs, LayerFs, UnpackError};

/// This machine's platform in OCI terms.
pub(crate) fn platform() -> (&'static str, &'static str) {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    ("linux", arch)
}
