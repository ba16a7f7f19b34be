# Reference values for metrics/tests/reference.rs, computed with scikit-learn 1.9.1 / NumPy
# (python3 -m venv /tmp/skl && /tmp/skl/bin/pip install scikit-learn numpy && /tmp/skl/bin/python generate.py).
# The Rust tests hold the printed numbers as literals; they do not need Python.
import warnings
import numpy as np
from sklearn.metrics import (accuracy_score, average_precision_score, classification_report, confusion_matrix,
                             f1_score, fbeta_score, mean_absolute_error, mean_squared_error,
                             precision_recall_fscore_support, precision_score, r2_score, recall_score,
                             roc_auc_score, top_k_accuracy_score)

warnings.simplefilter("ignore")


def prf(name, y, p, labels):
    print(f"== {name}")
    print("accuracy", repr(accuracy_score(y, p)))
    print("confusion", confusion_matrix(y, p, labels=labels).tolist())
    for zd in (0, 1):
        P, R, F, S = precision_recall_fscore_support(y, p, labels=labels, zero_division=zd)
        print(f"zd={zd} per-class P", P.tolist(), "R", R.tolist(), "F1", F.tolist(), "support", S.tolist())
        F2 = precision_recall_fscore_support(y, p, labels=labels, beta=2.0, zero_division=zd)[2]
        print(f"zd={zd} per-class F2", F2.tolist())
        avgs = ["micro", "macro", "weighted"] + (["binary"] if len(labels) == 2 else [])
        for avg in avgs:
            kw = dict(labels=labels, average=avg, zero_division=zd)
            print(f"zd={zd} {avg}: P {precision_score(y, p, **kw)!r} R {recall_score(y, p, **kw)!r} "
                  f"F1 {f1_score(y, p, **kw)!r} F2 {fbeta_score(y, p, beta=2.0, **kw)!r}")


# 1. Binary: probabilities thresholded at 0.5 (score > 0.5) give the predictions.
yb = np.array([0, 1, 1, 0, 1, 1, 0, 0, 1, 0, 1, 1])
sb = np.array([0.2, 0.8, 0.4, 0.6, 0.9, 0.55, 0.1, 0.5, 0.7, 0.3, 0.45, 0.95], dtype=np.float32)
prf("binary", yb, (sb > 0.5).astype(int), [0, 1])
print("roc_auc", repr(roc_auc_score(yb, sb)), "ap", repr(average_precision_score(yb, sb)))

# 2. Three classes, imbalanced; predictions are the argmax of these probabilities.
y3 = np.array([0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 0, 1, 0])
P3 = np.array([[.7, .2, .1], [.6, .3, .1], [.2, .5, .3], [.8, .1, .1], [.4, .4, .2], [.3, .3, .4], [.5, .2, .3],
               [.1, .8, .1], [.3, .6, .1], [.5, .4, .1], [.1, .2, .7], [.3, .4, .3], [.6, .1, .3], [.2, .3, .5],
               [.9, .05, .05]], dtype=np.float32)
p3 = P3.argmax(axis=1)  # first maximum on ties, like kensho
print("p3", p3.tolist())
prf("three", y3, p3, [0, 1, 2])
print(classification_report(y3, p3, target_names=["cat", "dog", "bird"], digits=2))
# Top-k on scores without ties (ties are where Keras' in_top_k and sklearn's argsort differ).
P3nt = P3 + np.array([0.0, 0.01, 0.02], dtype=np.float32)
print("P3nt", [round(float(x), 2) for x in P3nt.ravel()])
print("top1", repr(top_k_accuracy_score(y3, P3nt, k=1, labels=[0, 1, 2])),
      "top2", repr(top_k_accuracy_score(y3, P3nt, k=2, labels=[0, 1, 2])))

# 3. Class 2 absent from the predictions (its precision is 0/0).
ya = np.array([0, 1, 2, 2, 1, 0, 2, 1])
pa = np.array([0, 1, 1, 0, 1, 0, 1, 1])
prf("absent_pred", ya, pa, [0, 1, 2])
print(repr(classification_report(ya, pa, digits=4)))

# 4. Class 3 absent from the truth (its recall is 0/0), four classes.
yt = np.array([0, 1, 2, 2, 1, 0, 2, 1, 0])
pt = np.array([0, 3, 2, 3, 1, 0, 2, 1, 1])
prf("absent_true", yt, pt, [0, 1, 2, 3])

# 5. AUCs with tied scores.
ytie = np.array([0, 1, 0, 1, 1, 0, 0, 1, 0, 1])
stie = np.array([0.3, 0.3, 0.5, 0.5, 0.9, 0.1, 0.5, 0.7, 0.3, 0.3], dtype=np.float32)
print("ties roc_auc", repr(roc_auc_score(ytie, stie)), "ap", repr(average_precision_score(ytie, stie)))

# 6. Regression (MAPE as Keras: percent, |err| / max(|y|, 1e-7)).
yr = np.array([3.0, -0.5, 2.0, 7.0, 0.0, 4.5, -2.0], dtype=np.float32).astype(np.float64)
pr = np.array([2.5, 0.0, 2.0, 8.0, 0.1, 4.0, -1.5], dtype=np.float32).astype(np.float64)
mse = mean_squared_error(yr, pr)
print("mse", repr(mse), "rmse", repr(np.sqrt(mse)), "mae", repr(mean_absolute_error(yr, pr)),
      "mape", repr(100 * np.mean(np.abs(yr - pr) / np.maximum(np.abs(yr), 1e-7))), "r2", repr(r2_score(yr, pr)))
