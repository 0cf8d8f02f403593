//! Every promise the API hands out settles, even when the module breaks.
//!
//! The wasm build aborts on panic: after the panic hook runs, the module traps (`unreachable`),
//! and whatever future was being polled is never polled again. So the API keeps the `reject` of
//! every promise still pending, and the panic hook, which runs before the trap, rejects them all
//! and marks the module unusable; from then on every call rejects (or throws) at once with the
//! same message instead of hanging on a lock the trapped call still holds.
//!
//! Running out of memory would trap without a panic (std aborts straight away on wasm32), so the
//! allocator here turns a failed allocation into a panic, which the hook then reports.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::task::Poll;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

use crate::error::{Error, Result};

thread_local! {
    /// The `reject` of every promise not yet settled, by creation order.
    static PENDING: RefCell<BTreeMap<u64, Function>> = const { RefCell::new(BTreeMap::new()) };
    static NEXT_ID: Cell<u64> = const { Cell::new(0) };
    /// Set by the panic hook: the message every later call rejects with.
    static BROKEN: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The system allocator, except that a failed allocation panics (see the module comment). The
/// panic cannot unwind through the allocator: the wasm build aborts on panic.
struct PanicOnOom;

#[global_allocator]
static ALLOCATOR: PanicOnOom = PanicOnOom;

unsafe impl std::alloc::GlobalAlloc for PanicOnOom {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        let p = unsafe { std::alloc::System.alloc(layout) };
        if p.is_null() {
            panic!("out of memory: {} bytes could not be allocated", layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { std::alloc::System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            panic!("out of memory: {new_size} bytes could not be allocated");
        }
        p
    }
}

/// Installs the hook; called once when the module starts.
pub(crate) fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        let what = info.payload().downcast_ref::<&str>().map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into());
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        let message = format!("internal error: {what}{at}; this module is unusable; reload the page (or re-import the module)");
        // try_borrow: the panic may have struck while one of these was borrowed.
        BROKEN.with(|b| b.try_borrow_mut().map(|mut b| *b = Some(message.clone())).ok());
        let pending: Vec<Function> =
            PENDING.with(|p| p.try_borrow_mut().map(|mut p| std::mem::take(&mut *p).into_values().collect()).unwrap_or_default());
        for reject in pending {
            let _ = reject.call1(&JsValue::NULL, &JsError::new(&message).into());
        }
    }));
}

/// `Err` with the internal-error message once the module is unusable.
pub(crate) fn usable() -> std::result::Result<(), JsValue> {
    match BROKEN.with(|b| b.try_borrow().ok().and_then(|b| b.clone())) {
        Some(message) => Err(JsError::new(&message).into()),
        None => Ok(()),
    }
}

pub(crate) fn js_error(e: Error) -> JsValue {
    JsError::new(&e.to_string()).into()
}

/// A promise already rejected with `e`.
pub(crate) fn rejected(e: Error) -> Promise {
    Promise::reject(&js_error(e))
}

/// Runs `f` as a promise that settles with its result, and that the panic hook rejects if the
/// module breaks first.
pub(crate) fn spawn(f: impl Future<Output = Result<JsValue>> + 'static) -> Promise {
    if let Err(e) = usable() {
        return Promise::reject(&e);
    }
    let id = NEXT_ID.with(|n| n.replace(n.get() + 1));
    let mut settle = None;
    let promise = Promise::new(&mut |resolve, reject: Function| {
        PENDING.with(|p| p.borrow_mut().insert(id, reject.clone()));
        settle = Some((resolve, reject));
    });
    let (resolve, reject) = settle.expect("the Promise executor runs at once");
    let mut f = Box::pin(f);
    // A call woken after the module broke (its download finished, say) must not run on: its
    // promise is rejected already, and the state it would touch may be half-updated.
    let guarded = std::future::poll_fn(move |cx| if usable().is_err() { Poll::Ready(None) } else { f.as_mut().poll(cx).map(Some) });
    wasm_bindgen_futures::spawn_local(async move {
        let Some(result) = guarded.await else { return };
        PENDING.with(|p| p.borrow_mut().remove(&id));
        let _ = match result {
            Ok(v) => resolve.call1(&JsValue::NULL, &v),
            Err(e) => reject.call1(&JsValue::NULL, &js_error(e)),
        };
    });
    promise
}
