//! After the first step (which creates the state slots), a step allocates nothing.
//! One test in this binary, so no other thread allocates while it counts.

use kensho_autograd::{Grads, Param};
use kensho_core::Tensor;
use kensho_optim::{Adagrad, Adam, AdamW, Optimizer, RmsProp, Sgd};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steps_after_the_first_do_not_allocate() {
    let opts: Vec<Box<dyn Optimizer>> = vec![
        Box::new(Sgd::new(0.1).momentum(0.9).weight_decay(0.01)),
        Box::new(Adam::new(1e-3).amsgrad(true).clipnorm(1.0)),
        Box::new(AdamW::new(1e-3).global_clipnorm(1.0)),
        Box::new(RmsProp::new(1e-3).momentum(0.9).centered(true).clipvalue(0.1)),
        Box::new(Adagrad::new(1e-2)),
    ];
    for mut opt in opts {
        let mut w = Param::new("w", Tensor::ones(&[64, 32]));
        let mut b = Param::new("b", Tensor::ones(&[32]));
        let mut grads = Grads::new();
        grads.insert(w.id(), Tensor::full(&[64, 32], 0.5));
        grads.insert(b.id(), Tensor::full(&[32], -0.5));
        let first = ALLOCS.load(Ordering::Relaxed);
        opt.step(&mut [&mut w, &mut b], &grads);
        assert!(ALLOCS.load(Ordering::Relaxed) > first, "the first step creates the slots (the counter works)");
        let before = ALLOCS.load(Ordering::Relaxed);
        for _ in 0..10 {
            opt.step(&mut [&mut w, &mut b], &grads);
        }
        assert_eq!(ALLOCS.load(Ordering::Relaxed) - before, 0, "{} allocated during steps", opt.name());
        assert!(w.value.to_vec()[0] < 1.0);
    }
}
