//! The busybox test image (`skiff_runtime::image::testing`), as a docker archive or an OCI layout.

use std::path::Path;

use skiff_runtime::image::testing;

/// A layer with busybox, its applets, /etc/passwd, /etc/group and /var/www/index.html.
pub fn busybox_layer() -> Vec<u8> {
    testing::busybox_layer().expect("the busybox layer")
}

/// A `docker save` archive of `localhost/busybox:latest`.
pub fn docker_archive(path: &Path, layer: &[u8]) {
    testing::docker_archive(path, layer, "localhost/busybox:latest").expect("docker archive");
}

/// An OCI layout tagged `latest`; returns the layer's digest (hex).
pub fn oci_layout(dir: &Path, layer: &[u8]) -> String {
    testing::oci_layout(dir, layer).expect("OCI layout").1.hex().to_string()
}
