//! Allocator tuning so that password hashing does not leave the process big.
//!
//! Each argon2id verification allocates its 19 MiB work area and frees it again. glibc serves
//! such a block with mmap and unmaps it on free, but after the first such free it raises its
//! mmap threshold above the block size, so from then on the blocks come from the heap and stay
//! resident: a few logins would take an idle IdP from ~20 MB to well over 100 MB. Fixing the
//! threshold at 1 MiB keeps every work area an mmap that goes back to the OS when freed.

/// Call once at start-up, before password hashing runs.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn return_large_blocks_to_the_os() {
    // SAFETY: mallopt only changes a tuning parameter of the allocator; glibc documents it as
    // safe to call at any time, from any thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// Other allocators manage large blocks on their own.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn return_large_blocks_to_the_os() {}
