#!/usr/bin/python3
"""Makes the mnist workload's model and held-out digits, reproducibly.

No MNIST model ships in Debian, so this trains one from Debian packages:
the 8x8 handwritten digits bundled with python3-sklearn
(sklearn.datasets.load_digits, 1797 images, pixels 0..16), split with a
fixed seed into a held-out set of HELD_OUT images and the rest for
training; a small multilayer perceptron (MLPClassifier, fixed seed) learns
them.  Its weights are then written as an ONNX model with python3-onnx,
the graph built here by hand so that runtime/posix/mnist implements
exactly these operators:

    Input3 float[1,1,8,8] (pixels 0..16, as load_digits gives them)
      -> Reshape (to [1,64]) -> Div (by 16: the scaling used in training)
      -> Gemm (64 -> HIDDEN, transB) -> Relu
      -> Gemm (HIDDEN -> 10, transB) -> Plus214_Output_0 float[1,10]

The tensor names are the ones the seed's mnist workload looked for (the
ONNX model zoo's MNIST model): Input3 in, Plus214_Output_0 (scores before
softmax) out; the digit is the index of the largest score.

Written under runtime/posix/mnist/ (or --out DIR):
    disk/mnist.onnx          the model (the workload's disk, read-only)
    disk/digits/NNN.pgm      the held-out images, plain PGM (P2, 8x8, maxval 16)
    held_out.txt             "digits/NNN.pgm LABEL PREDICTION" per image, the
                             prediction being this graph's, computed here in
                             float32 with numpy outside any cVM

Run with Debian's interpreter (it has the packages):
    /usr/bin/python3 scripts/mnist_model.py
Needs python3-sklearn and python3-onnx (scripts/deps.sh model).  Running it
again on the same packages gives the same files, byte for byte.
"""
import argparse
import hashlib
import os
import sys
import warnings

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

SEED = 20240601
HELD_OUT = 300
HIDDEN = 64
PIXEL_MAX = 16.0
IN_NAME, OUT_NAME = "Input3", "Plus214_Output_0"


def train(x_train, y_train):
    net = MLPClassifier(hidden_layer_sizes=(HIDDEN,), activation="relu", solver="adam",
                        alpha=1e-4, max_iter=300, random_state=SEED)
    with warnings.catch_warnings():
        # Stopping at max_iter is the plan, not a failure.
        warnings.simplefilter("ignore", ConvergenceWarning)
        net.fit(x_train / PIXEL_MAX, y_train)
    return net


def weights(net):
    """(W1, b1, W2, b2) in float32, W as [out, in] for Gemm with transB=1."""
    w1, w2 = (np.ascontiguousarray(w.T, dtype=np.float32) for w in net.coefs_)
    b1, b2 = (b.astype(np.float32) for b in net.intercepts_)
    return w1, b1, w2, b2


def build_model(w1, b1, w2, b2):
    inits = [
        numpy_helper.from_array(np.array([1, 64], dtype=np.int64), "Flatten_Shape"),
        numpy_helper.from_array(np.array(PIXEL_MAX, dtype=np.float32), "Pixel_Max"),
        numpy_helper.from_array(w1, "Hidden_W"),
        numpy_helper.from_array(b1, "Hidden_B"),
        numpy_helper.from_array(w2, "Output_W"),
        numpy_helper.from_array(b2, "Output_B"),
    ]
    nodes = [
        helper.make_node("Reshape", [IN_NAME, "Flatten_Shape"], ["Flat"], name="Flatten"),
        helper.make_node("Div", ["Flat", "Pixel_Max"], ["Scaled"], name="Scale"),
        helper.make_node("Gemm", ["Scaled", "Hidden_W", "Hidden_B"], ["Hidden"], name="Hidden",
                         transB=1),
        helper.make_node("Relu", ["Hidden"], ["Hidden_Relu"], name="Relu"),
        helper.make_node("Gemm", ["Hidden_Relu", "Output_W", "Output_B"], [OUT_NAME],
                         name="Output", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "digits8x8_mlp",
        [helper.make_tensor_value_info(IN_NAME, TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info(OUT_NAME, TensorProto.FLOAT, [1, 10])],
        initializer=inits)
    model = helper.make_model(graph, producer_name="intravisor scripts/mnist_model.py",
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    return model


def run_graph(x, w1, b1, w2, b2):
    """The graph above in float32, one row per image: the scores."""
    flat = x.astype(np.float32).reshape(-1, 64) / np.float32(PIXEL_MAX)
    hidden = np.maximum(flat @ w1.T + b1, np.float32(0))
    return hidden @ w2.T + b2


def write_pgm(path, img):
    rows = "\n".join(" ".join(str(int(v)) for v in img[r * 8:r * 8 + 8]) for r in range(8))
    with open(path, "w") as f:
        f.write("P2\n8 8\n16\n" + rows + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "..", "runtime", "posix", "mnist"))
    out = os.path.normpath(ap.parse_args().out)

    digits = load_digits()
    idx = np.arange(len(digits.target))
    tr, te = train_test_split(idx, test_size=HELD_OUT, random_state=SEED,
                              stratify=digits.target)
    te = np.sort(te)
    x, y = digits.data, digits.target
    net = train(x[tr], y[tr])
    w = weights(net)
    model = build_model(*w)

    pred = run_graph(x[te], *w).argmax(axis=1)
    sk_pred = net.predict(x[te] / PIXEL_MAX)
    acc = float((pred == y[te]).mean())
    train_acc = float((run_graph(x[tr], *w).argmax(axis=1) == y[tr]).mean())

    disk = os.path.join(out, "disk")
    os.makedirs(os.path.join(disk, "digits"), exist_ok=True)
    blob = model.SerializeToString()
    with open(os.path.join(disk, "mnist.onnx"), "wb") as f:
        f.write(blob)
    lines = []
    for k, i in enumerate(te):
        name = "digits/%03d.pgm" % k
        write_pgm(os.path.join(disk, name), x[i])
        lines.append("%s %d %d\n" % (name, y[i], pred[k]))
    with open(os.path.join(out, "held_out.txt"), "w") as f:
        f.writelines(lines)

    print("model: %s, %d bytes, sha256 %s" % (os.path.join(disk, "mnist.onnx"), len(blob),
                                              hashlib.sha256(blob).hexdigest()))
    print("trained on %d images, %d held out (seed %d); %d iterations" %
          (len(tr), len(te), SEED, net.n_iter_))
    print("training accuracy %.4f" % train_acc)
    print("held-out accuracy (the ONNX graph in float32, outside any cVM): %d/%d = %.4f" %
          (int((pred == y[te]).sum()), len(te), acc))
    if (sk_pred != pred).any():
        print("note: sklearn's own predictions differ on %d images" %
              int((sk_pred != pred).sum()))
    return 0 if acc >= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
