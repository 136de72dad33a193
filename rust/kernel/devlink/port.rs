// SPDX-License-Identifier: GPL-2.0

//! devlink ports.
//!
//! A port is what a devlink instance exposes of itself to the outside: for a NIC, each physical
//! network port. Ports are registered with an index unique in their instance, and user space
//! sees them as `bus/device/index` (e.g. `pci/0000:00:03.0/0`). Ports can carry their own health
//! reporters.
//!
//! C header: [`include/net/devlink.h`](srctree/include/net/devlink.h)

use crate::{
    bindings,
    devlink::{
        instance::{Held, InstanceRef},
        Devlink, Locked, Operations,
    },
    error::to_result,
    prelude::*,
    sync::{Arc, UniqueArc},
    task::might_sleep,
    types::Opaque,
};

/// What a port is, with the attributes of that flavour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// A physical port of the device, numbered as on its front panel; user space names it
    /// `p<number>`.
    Physical {
        /// The number of the port on the device.
        number: u32,
    },
}

impl Flavour {
    fn attrs(self) -> bindings::devlink_port_attrs {
        let mut attrs: bindings::devlink_port_attrs = pin_init::zeroed();
        match self {
            Flavour::Physical { number } => {
                attrs.flavour = bindings::devlink_port_flavour_DEVLINK_PORT_FLAVOUR_PHYSICAL;
                attrs.__bindgen_anon_1.phys.port_number = number;
            }
        }
        attrs
    }
}

/// A registered port and the instance that keeps it.
///
/// # Invariants
///
/// `port` is registered in the instance of `instance`.
pub(crate) struct PortInner {
    /// Dropped after the port is unregistered (fields drop after `Drop::drop`).
    instance: InstanceRef,
    port: Pin<KBox<Opaque<bindings::devlink_port>>>,
}

impl PortInner {
    pub(crate) fn as_raw(&self) -> *mut bindings::devlink_port {
        self.port.get()
    }

    #[inline]
    pub(crate) fn instance(&self) -> &InstanceRef {
        &self.instance
    }
}

impl Drop for PortInner {
    /// Unregisters the port; sleeps.
    ///
    /// The port's reporters hold references to it, so they are gone. With the instance lock
    /// held, through a [`Guard`](super::Guard) or in an operation, the port is unregistered
    /// under it.
    fn drop(&mut self) {
        might_sleep();
        let header = self.instance.header();
        match header.held() {
            // SAFETY: By the type invariant, the port is registered; the current task does not
            // hold the instance lock, which the function takes.
            Held::No => unsafe { bindings::devlink_port_unregister(self.as_raw()) },
            // SAFETY: By the type invariant, the port is registered; the current task holds the
            // instance lock, through a guard or in an operation, which is not one of the port (it
            // has none) nor of one of its reporters (they hold the port).
            Held::ByGuard | Held::ByOp(_) => unsafe {
                bindings::devl_port_unregister(self.as_raw())
            },
        }
    }
}

// SAFETY: The C port may be used from any thread; the C functions called on it lock.
unsafe impl Send for PortInner {}

// SAFETY: As above.
unsafe impl Sync for PortInner {}

/// A registered devlink port; dropping it unregisters the port, once its health reporters are
/// gone too (they keep it).
///
/// Dropping it sleeps (`devlink_port_unregister()` takes the instance lock, and the last
/// reference to the instance may go with it): process context only, checked by `might_sleep()`.
///
/// # Examples
///
/// ```
/// use kernel::{
///     c_str, device, devlink,
///     devlink::port::{Flavour, Port},
///     faux, prelude::*,
/// };
///
/// struct Switch;
///
/// #[vtable]
/// impl devlink::Operations for Switch {}
///
/// let fdev = faux::Registration::new(c_str!("rust-devlink-port-doc"), None)?;
/// let dev: &device::Device<device::Bound> = fdev.as_ref().as_ref();
/// let reg = devlink::Unregistered::new(dev, Switch)?;
/// let reg = devlink::Registration::new(dev, reg)?;
/// let p0 = Port::new(&reg, 0, Flavour::Physical { number: 1 })?;
/// let p1 = Port::new(&reg, 1, Flavour::Physical { number: 2 })?;
/// assert_eq!(p1.index(), 1);
///
/// // Indices are unique in an instance.
/// assert_eq!(Port::new(&reg, 0, Flavour::Physical { number: 3 }).err(), Some(EBUSY));
/// # drop((p0, p1));
/// # Ok::<(), Error>(())
/// ```
pub struct Port {
    inner: Arc<PortInner>,
}

impl Port {
    /// Registers port `index` of `devlink`, taking the instance lock.
    ///
    /// Fails with [`EDEADLK`] if the current task holds the lock: use [`Port::new_locked`].
    pub fn new<T: Operations>(devlink: &Devlink<T>, index: u32, flavour: Flavour) -> Result<Self> {
        devlink
            .header()
            .refuse_if_held(devlink.as_raw(), fmt!("port {index} by Port::new()"))?;
        Self::register(
            InstanceRef::new(devlink),
            index,
            flavour,
            bindings::devlink_port_register_with_ops,
        )
    }

    /// Registers port `index` of the instance whose lock is held: from a
    /// [`Guard`](super::Guard), or in a reporter operation.
    pub fn new_locked(lock: &Locked<'_>, index: u32, flavour: Flavour) -> Result<Self> {
        Self::register(
            lock.instance(),
            index,
            flavour,
            bindings::devl_port_register_with_ops,
        )
    }

    /// Registers the port in `instance` with `register`, a C function that needs the lock held
    /// if it does not take it itself.
    fn register(
        instance: InstanceRef,
        index: u32,
        flavour: Flavour,
        register: unsafe extern "C" fn(
            *mut bindings::devlink,
            *mut bindings::devlink_port,
            u32,
            *const bindings::devlink_port_ops,
        ) -> c_int,
    ) -> Result<Self> {
        let raw_devlink = instance.as_raw();
        // Allocated before the port is registered, so that nothing fails after.
        let inner = UniqueArc::new_uninit(GFP_KERNEL)?;
        let port = KBox::pin_init(
            Opaque::try_ffi_init(|port: *mut bindings::devlink_port| {
                // SAFETY: `port` is valid for writes of a `struct devlink_port`.
                unsafe { port.write_bytes(0, 1) };
                let attrs = flavour.attrs();
                // SAFETY: `port` is zeroed and not registered; the attributes are copied.
                unsafe { bindings::devlink_port_attrs_set(port, &attrs) };
                // SAFETY: `raw_devlink` is valid (`instance` holds it); `port` is zeroed, not
                // registered and pinned in its box; NULL ops are allowed; the caller passes a
                // function whose locking needs are met.
                to_result(unsafe { register(raw_devlink, port, index, core::ptr::null()) })
            }),
            GFP_KERNEL,
        )?;
        // INVARIANT: Registered above, in the instance that `instance` holds.
        let inner = inner.write(PortInner { instance, port });
        Ok(Self {
            inner: inner.into(),
        })
    }

    /// Returns the index of the port in its instance.
    pub fn index(&self) -> u32 {
        // SAFETY: The port is registered, and its index does not change.
        unsafe { (*self.inner.as_raw()).index }
    }

    /// Returns the raw `struct devlink_port`.
    pub fn as_raw(&self) -> *mut bindings::devlink_port {
        self.inner.as_raw()
    }

    /// Whether the port belongs to `devlink`.
    pub fn belongs_to<T: Operations>(&self, devlink: &Devlink<T>) -> bool {
        self.inner.instance().as_raw() == devlink.as_raw()
    }

    /// Whether the port belongs to the instance whose lock is held.
    pub(crate) fn belongs_to_locked(&self, lock: &Locked<'_>) -> bool {
        self.inner.instance().as_raw() == lock.as_raw()
    }

    pub(crate) fn inner(&self) -> &Arc<PortInner> {
        &self.inner
    }
}
