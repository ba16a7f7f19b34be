//! Tape memory and parameter identity: `retain_only` releases inference values, `backward`
//! consumes the tape (dropping values and rules as it goes), gradients accumulate in place, and
//! `Param::clone` / `Param::share` give a fresh or the same identity.

use kensho_autograd::{InputGrads, Param, Tape, Var};
use kensho_core::Tensor;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

fn t(values: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), shape).unwrap()
}

/// The address of a contiguous tensor's first element.
fn address(x: &Tensor) -> *const f32 {
    x.as_slice().expect("contiguous").as_ptr()
}

/// Whether `x` is the only holder of its buffer: writing to a shared buffer copies it first
/// (copy on write), so the address changes exactly when someone else still holds it.
fn is_sole_owner(mut x: Tensor) -> bool {
    let before = address(&x);
    x.as_mut_slice()[0] += 0.0;
    before == address(&x)
}

// ---- retain_only --------------------------------------------------------------------------------

#[test]
fn retain_only_frees_the_released_buffers_and_keeps_the_rest_readable() {
    let data = t(&[1.0, -2.0, 3.0, -4.0, 5.0, -6.0], &[2, 3]);
    let outside = data.clone();
    let tape = Tape::no_grad();
    let x = tape.constant(data);
    let h = x.relu();
    let kept_h = h.value();
    let probs = h.mul_scalar(0.5).softmax(1);
    let logits = probs.softmax_logits().expect("softmax over the last axis");
    let expected = probs.value();
    assert!(!is_sole_owner(outside.clone()), "control: the tape holds the input");
    tape.retain_only(&[probs]);
    assert!(is_sole_owner(outside), "the released input's buffer is no longer held by the tape");
    assert!(is_sole_owner(kept_h), "the released hidden value's buffer is no longer held by the tape");
    assert!(x.is_released() && h.is_released());
    assert!(!probs.is_released() && !logits.is_released(), "a kept softmax keeps its logits");
    assert_eq!(probs.value(), expected);
    assert_eq!(logits.value(), t(&[0.5, 0.0, 1.5, 0.0, 2.5, 0.0], &[2, 3]));
    assert_eq!(tape.len(), 4, "released nodes keep their ids");
    // The next layer call: compute from the kept value, then keep only its output.
    let out = probs.sum_axes(&[1], false);
    tape.retain_only(&[out]);
    assert!(probs.is_released() && logits.is_released());
    assert_eq!(out.value().to_vec().len(), 2);
}

#[test]
fn retain_only_keeps_the_logits_of_a_kept_sigmoid() {
    let tape = Tape::no_grad();
    let z = tape.constant(t(&[0.0, 2.0], &[2])).mul_scalar(2.0);
    let p = z.sigmoid();
    tape.retain_only(&[p]);
    let logits = p.sigmoid_logits().expect("made by sigmoid");
    assert_eq!(logits.id(), z.id());
    assert_eq!(logits.value().to_vec(), vec![0.0, 4.0]);
}

#[test]
#[should_panic(expected = "released by `Tape::retain_only`")]
fn reading_a_released_value_panics() {
    let tape = Tape::no_grad();
    let x = tape.constant(t(&[1.0], &[1]));
    let y = x.exp();
    tape.retain_only(&[y]);
    let _ = x.value();
}

#[test]
#[should_panic(expected = "released by `Tape::retain_only`")]
fn the_shape_of_a_released_value_panics_too() {
    let tape = Tape::no_grad();
    let x = tape.constant(t(&[1.0], &[1]));
    tape.retain_only(&[]);
    let _ = x.shape();
}

#[test]
fn retain_only_on_a_gradient_tape_does_nothing() {
    let tape = Tape::new();
    let x = tape.leaf(t(&[1.0, 2.0], &[2]));
    let y = x.mul(x).sum_all();
    tape.retain_only(&[y]);
    assert!(!x.is_released());
    assert_eq!(x.value().to_vec(), vec![1.0, 2.0]);
    assert_eq!(tape.backward(y).wrt(x).unwrap().to_vec(), vec![2.0, 4.0]);
}

#[test]
fn debug_of_a_released_or_consumed_var_does_not_panic() {
    let tape = Tape::no_grad();
    let x = tape.constant(t(&[1.0], &[1]));
    tape.retain_only(&[]);
    assert_eq!(format!("{x:?}"), "Var#0(released)");
    let tape = Tape::new();
    let x = tape.leaf(t(&[1.0], &[1]));
    tape.backward(x.sum_all());
    assert_eq!(format!("{x:?}"), "Var#0(consumed by backward)");
}

// ---- backward consumes the tape -----------------------------------------------------------------

#[test]
fn backward_empties_the_tape_and_frees_every_value() {
    let data = t(&[1.0, 2.0, 3.0], &[3]);
    let outside = data.clone();
    let tape = Tape::new();
    let x = tape.leaf(data);
    let loss = x.exp().mul(x).sum_all();
    assert!(tape.len() > 1);
    let grads = tape.backward(loss);
    assert!(tape.is_empty(), "len after backward: {}", tape.len());
    assert!(grads.wrt(x).is_some(), "leaf gradients are still found through the old Var");
    assert!(is_sole_owner(outside), "no value or rule of the tape holds the input any more");
}

#[test]
#[should_panic(expected = "values must be read before backward")]
fn reading_a_value_after_backward_panics() {
    let tape = Tape::new();
    let x = tape.leaf(t(&[1.0, 2.0], &[2]));
    let loss = x.mul(x).sum_all();
    tape.backward(loss);
    let _ = loss.value();
}

#[test]
#[should_panic(expected = "values must be read before backward")]
fn an_old_var_stays_unreadable_when_the_tape_is_reused() {
    let tape = Tape::new();
    let old = tape.leaf(t(&[1.0], &[1]));
    tape.backward(old.sum_all());
    let new = tape.leaf(t(&[5.0], &[1]));
    assert_eq!(new.id(), old.id(), "the id is reused");
    assert_eq!(new.value().to_vec(), vec![5.0]);
    let _ = old.exp();
}

#[test]
fn the_tape_is_reusable_after_backward() {
    let tape = Tape::new();
    for step in 1..=3 {
        let x = tape.leaf(t(&[step as f32], &[1]));
        let loss = x.mul(x).sum_all();
        assert_eq!(loss.value().item(), (step * step) as f32);
        assert_eq!(tape.backward(loss).wrt(x).unwrap().to_vec(), vec![2.0 * step as f32]);
        assert!(tape.is_empty());
    }
}

/// Sets its flag when dropped.
struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn backward_drops_each_rule_once_it_has_passed_it() {
    let tape = Tape::new();
    let x = tape.leaf(t(&[1.0, 2.0], &[2]));
    let later_dropped = Rc::new(Cell::new(false));
    let seen = Rc::clone(&later_dropped);
    let ran = Rc::new(Cell::new(false));
    let ran_in_rule = Rc::clone(&ran);
    let a = tape.record(x.value().mul_scalar(2.0), &[x], move |dy, _| {
        assert!(seen.get(), "the later node's rule is still alive when the earlier one runs");
        ran_in_rule.set(true);
        InputGrads::from_vec(vec![Some(dy.mul_scalar(2.0))])
    });
    let guard = DropFlag(Rc::clone(&later_dropped));
    let b = tape.record(a.value().mul_scalar(3.0), &[a], move |dy, _| {
        let _alive = &guard;
        InputGrads::from_vec(vec![Some(dy.mul_scalar(3.0))])
    });
    let grads = tape.backward(b.sum_all());
    assert!(ran.get());
    assert_eq!(grads.wrt(x).unwrap().to_vec(), vec![6.0, 6.0]);
}

// ---- in-place accumulation ----------------------------------------------------------------------

/// `2 v`, whose rule returns a fresh gradient and notes its address in `noted`.
fn fresh_double<'t>(v: Var<'t>, noted: &Rc<RefCell<Vec<usize>>>) -> Var<'t> {
    let noted = Rc::clone(noted);
    v.tape().record(v.value().mul_scalar(2.0), &[v], move |dy, _| {
        let g = dy.mul_scalar(2.0);
        noted.borrow_mut().push(address(&g) as usize);
        InputGrads::from_vec(vec![Some(g)])
    })
}

#[test]
fn gradients_that_meet_are_added_into_an_existing_buffer() {
    // `w` enters twice and the leaf `x` feeds two ops; each op's rule returns a fresh gradient
    // whose address is noted. The accumulated gradient must live in one of those buffers.
    let w = Param::new("w", t(&[1.0, 2.0, 3.0], &[3]));
    let tape = Tape::new();
    let noted = Rc::new(RefCell::new(Vec::new()));
    let (p1, p2) = (tape.param(&w), tape.param(&w));
    let x = tape.leaf(t(&[4.0, 5.0, 6.0], &[3]));
    let d = |v| fresh_double(v, &noted);
    let y = d(p1).add(d(p2)).add(d(x)).add(d(x));
    let grads = tape.backward(y.sum_all());
    let noted = noted.take();
    assert_eq!(noted.len(), 4);
    let gw = grads.get(w.id()).unwrap();
    assert_eq!(gw.to_vec(), vec![4.0; 3]);
    assert!(noted.contains(&(address(gw) as usize)), "the parameter gradient was reallocated");
    let gx = grads.wrt(x).unwrap();
    assert_eq!(gx.to_vec(), vec![4.0; 3]);
    assert!(noted.contains(&(address(gx) as usize)), "the leaf gradient was reallocated");
}

// ---- Param identity -----------------------------------------------------------------------------

#[test]
fn a_cloned_param_is_a_new_parameter() {
    let mut w = Param::new("dense.kernel", t(&[1.0, 2.0], &[2]));
    w.trainable = false;
    let c = w.clone();
    assert_ne!(c.id(), w.id());
    assert_eq!((c.name(), &c.value, c.trainable), (w.name(), &w.value, w.trainable));
    // On one tape the two get separate gradients.
    let mut a = w.clone();
    a.trainable = true;
    let mut b = w.clone();
    b.trainable = true;
    let tape = Tape::new();
    let grads = tape.backward(tape.param(&a).mul(tape.param(&b)).sum_all());
    assert_eq!(grads.len(), 2);
    assert_eq!(grads.get(a.id()).unwrap().to_vec(), vec![1.0, 2.0]);
    assert_eq!(grads.get(b.id()).unwrap().to_vec(), vec![1.0, 2.0]);
}

#[test]
fn a_shared_param_ties_the_gradients() {
    let w = Param::new("embedding", t(&[1.0, 2.0], &[2]));
    let tied = w.share();
    assert_eq!(tied.id(), w.id());
    assert_eq!((tied.name(), &tied.value, tied.trainable), (w.name(), &w.value, w.trainable));
    let tape = Tape::new();
    let grads = tape.backward(tape.param(&w).mul(tape.param(&tied)).sum_all());
    assert_eq!(grads.len(), 1, "one entry for both handles");
    assert_eq!(grads.get(w.id()).unwrap().to_vec(), vec![2.0, 4.0]);
    // A clone of a shared handle is again a new parameter.
    assert_ne!(tied.clone().id(), w.id());
}
