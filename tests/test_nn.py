"""micrograd.nn and micrograd.demo: the original's constructors and code run unchanged, activations, seeded init,
weights through nested lists, SGD, and the classic demo reaching 100% training accuracy.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import re
from collections.abc import Iterator

import pytest

from micrograd import demo
from micrograd.engine import Value
from micrograd.nn import MLP, SGD, Layer, Module, Neuron


@pytest.fixture
def global_random() -> Iterator[None]:
    """For tests that seed the global random module (as the original's demo does): put its state back after."""
    state = random.getstate()
    yield
    random.setstate(state)


def parameter_count(sizes: list[int]) -> int:
    return sum((nin + 1) * nout for nin, nout in itertools.pairwise(sizes))


# --- the original's API ---


def test_the_original_constructors() -> None:
    n = Neuron(3)
    assert len(n.w) == 3 and n.b.data == 0.0 and n.nonlin and repr(n) == "ReLUNeuron(3)"
    assert not Neuron(3, nonlin=False).nonlin and repr(Neuron(3, nonlin=False)) == "LinearNeuron(3)"
    layer = Layer(3, 4, nonlin=False)
    assert len(layer.neurons) == 4 and len(layer.parameters()) == 4 * 4
    assert repr(layer) == f"Layer of [{', '.join(['LinearNeuron(3)'] * 4)}]"
    model = MLP(2, [16, 16, 1])
    assert len(model.parameters()) == parameter_count([2, 16, 16, 1])
    assert repr(model).startswith("MLP of [Layer of [ReLUNeuron(2), ") and repr(model).endswith("Layer of [LinearNeuron(16)]]")
    assert isinstance(model([Value(0.5), 0.25]), Value)
    assert isinstance(Layer(2, 3)([1.0, 2.0]), list)
    assert Module().parameters() == []


def test_module_zero_grad() -> None:
    model = MLP(2, [3, 1], seed=0)
    model([1.0, -2.0]).backward()
    assert any(p.grad != 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0 for p in model.parameters())


README_SNIPPET = """
from micrograd.engine import Value

a = Value(-4.0)
b = Value(2.0)
c = a + b
d = a * b + b**3
c += c + 1
c += 1 + c + (-a)
d += d * 2 + (b + a).relu()
d += 3 * d + (b - a).relu()
e = c - d
f = e**2
g = f / 2.0
g += 10.0 / f
print(f'{g.data:.4f}') # prints 24.7041, the outcome of this forward pass
g.backward()
print(f'{a.grad:.4f}') # prints 138.8338, i.e. the numerical value of dg/da
print(f'{b.grad:.4f}') # prints 645.5773, i.e. the numerical value of dg/db
"""


def test_the_original_readme_snippet_runs_unchanged_and_prints_what_it_says(capsys: pytest.CaptureFixture[str]) -> None:
    exec(README_SNIPPET, {})
    promised = re.findall(r"# prints (\S+),", README_SNIPPET)
    assert capsys.readouterr().out.split() == promised


# The original demo notebook's model, loss and loop, word for word but for numpy and scikit-learn: X and y are
# given (pure-Python lists), and the loop runs STEPS steps instead of 100.
DEMO_NOTEBOOK = """
import random
from micrograd.engine import Value
from micrograd.nn import Neuron, Layer, MLP

random.seed(1337)

# initialize a model
model = MLP(2, [16, 16, 1]) # 2-layer neural network
initial_weights = [p.data for p in model.parameters()]
print(model)
print("number of parameters", len(model.parameters()))

# loss function
def loss(batch_size=None):

    # inline DataLoader :)
    if batch_size is None:
        Xb, yb = X, y
    inputs = [list(map(Value, xrow)) for xrow in Xb]

    # forward the model to get scores
    scores = list(map(model, inputs))

    # svm "max-margin" loss
    losses = [(1 + -yi*scorei).relu() for yi, scorei in zip(yb, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    # L2 regularization
    alpha = 1e-4
    reg_loss = alpha * sum((p*p for p in model.parameters()))
    total_loss = data_loss + reg_loss

    # also get accuracy
    accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yb, scores)]
    return total_loss, sum(accuracy) / len(accuracy)

total_loss, acc = loss()
print(total_loss, acc)

# optimization
for k in range(STEPS):

    # forward
    total_loss, acc = loss()

    # backward
    model.zero_grad()
    total_loss.backward()

    # update (sgd)
    learning_rate = 1.0 - 0.9*k/100
    for p in model.parameters():
        p.data -= learning_rate * p.grad

    if k % 1 == 0:
        print(f"step {k} loss {total_loss.data}, accuracy {acc*100}%")
"""


def test_the_original_demo_notebook_runs_unchanged_and_trains_as_our_demo(
    capsys: pytest.CaptureFixture[str], global_random: None
) -> None:
    X, y = demo.make_moons(100, noise=0.1, seed=1)
    y = [int(label) for label in y]  # the notebook's labels are the integers -1 and 1
    namespace = {"X": X, "y": y, "STEPS": 4}
    exec(DEMO_NOTEBOOK, namespace)
    printed = re.findall(r"step (\d+) loss (\S+), accuracy (\S+)%", capsys.readouterr().out)
    assert [int(k) for k, _, _ in printed] == list(range(4))

    start = namespace["initial_weights"]
    model = MLP(2, [16, 16, 1], seed=0)
    for p, number in zip(model.parameters(), start):
        p.data = number
    optimizer = SGD(model.parameters())
    for k, notebook_loss, notebook_accuracy in printed:
        total, accuracy = demo.loss(model, X, y)
        optimizer.zero_grad()
        total.backward()
        optimizer.step(demo.learning_rate(int(k)))
        message = f"step {k}: notebook={notebook_loss} | ours={total.data}"
        assert math.isclose(float(notebook_loss), total.data, rel_tol=1e-12), message
        assert float(notebook_accuracy) == accuracy * 100
    assert [p.data for p in model.parameters()] == pytest.approx([p.data for p in namespace["model"].parameters()], rel=1e-9)


# --- activations ---


@pytest.mark.parametrize("activation", ["relu", "tanh", "linear"])
def test_hidden_activation(activation: str) -> None:
    model = MLP(3, [4, 2], activation=activation, seed=3)
    x = [0.5, -1.2, 2.0]
    apply = {"relu": Value.relu, "tanh": Value.tanh, "linear": lambda v: v}[activation]
    hidden = [apply(sum((w * xi for w, xi in zip(n.w, x)), n.b)) for n in model.layers[0].neurons]
    expected = [sum((w * h for w, h in zip(n.w, hidden)), n.b) for n in model.layers[1].neurons]  # the last layer is linear
    assert [v.data for v in model(x)] == pytest.approx([v.data for v in expected], rel=1e-15)
    assert all(n.activation == activation for n in model.layers[0].neurons)
    assert all(not n.nonlin for n in model.layers[-1].neurons)


def test_an_unknown_activation_names_the_choices() -> None:
    with pytest.raises(ValueError, match="relu, tanh, linear"):
        MLP(2, [3, 1], activation="gelu")


# --- seeded initialisation ---


def test_a_seed_gives_the_same_weights_and_leaves_the_global_random_state_alone() -> None:
    state = random.getstate()
    a, b = MLP(2, [5, 1], seed=7), MLP(2, [5, 1], seed=7)
    assert random.getstate() == state
    assert a.export_weights() == b.export_weights()
    assert a.export_weights() != MLP(2, [5, 1], seed=8).export_weights()
    assert MLP(2, [5, 1], seed=random.Random(7)).export_weights() == a.export_weights()


def test_without_a_seed_the_global_random_module_is_used_as_in_the_original(global_random: None) -> None:
    random.seed(5)
    a = MLP(2, [5, 1])
    random.seed(5)
    assert MLP(2, [5, 1]).export_weights() == a.export_weights()
    random.seed(5)
    rng = random.Random(5)
    assert [p.data for p in Neuron(2).parameters()] == [rng.uniform(-1, 1), rng.uniform(-1, 1), 0.0]


# --- weights as nested lists ---


def test_weights_round_trip_through_nested_lists_and_json() -> None:
    model = MLP(3, [4, 4, 2], activation="tanh", seed=11)
    weights = model.export_weights()
    assert [[len(row) for row in layer] for layer in weights] == [[4] * 4, [5] * 4, [5] * 2]
    assert all(type(n) is float for layer in weights for row in layer for n in row)
    assert json.loads(json.dumps(weights)) == weights
    copy = MLP.from_weights(json.loads(json.dumps(weights)), activation="tanh")
    assert copy.export_weights() == weights and copy.sizes == [3, 4, 4, 2]
    x = [0.1, -0.2, 0.3]
    assert [v.data for v in copy(x)] == [v.data for v in model(x)]
    other = MLP(3, [4, 4, 2], seed=12)
    other.load_weights(weights)
    assert other.export_weights() == weights


@pytest.mark.parametrize(
    ("mutate", "error", "message"),
    [
        (lambda w: w[:1], ValueError, r"got 1 layers, this MLP\[2, 3, 1\] has 2"),
        (lambda w: [w[0][:2], w[1]], ValueError, "layer 0 has 3 neurons, got 2 rows"),
        (lambda w: [w[0], [w[1][0][:-1]]], ValueError, r"layer 1 neuron 0 needs 4 numbers \(3 weights, then the bias\), got 3"),
        (lambda w: [w[0], [[*w[1][0][:-1], "0.5"]]], TypeError, "layer 1 neuron 0 holds '0.5' \\(str\\)"),
        (lambda w: [w[0], [[*w[1][0][:-1], None]]], TypeError, "NoneType"),
    ],
    ids=["layers", "neurons", "row length", "a string", "None"],
)
def test_load_weights_errors_name_the_place_and_change_nothing(mutate, error: type[Exception], message: str) -> None:
    model = MLP(2, [3, 1], seed=1)
    before = model.export_weights()
    good = MLP(2, [3, 1], seed=2).export_weights()
    with pytest.raises(error, match=message):
        model.load_weights(mutate(good))
    assert model.export_weights() == before


def test_from_weights_rejects_empty_lists() -> None:
    for empty in ([], [[]], [[[]]]):
        with pytest.raises(ValueError, match="empty"):
            MLP.from_weights(empty)


def test_load_weights_resets_the_gradients() -> None:
    model = MLP(2, [3, 1], seed=1)
    model([1.0, 2.0]).backward()
    model.load_weights(model.export_weights())
    assert all(p.grad == 0.0 for p in model.parameters())


# --- SGD and the demo ---


def test_sgd_step_and_zero_grad() -> None:
    params = [Value(1.0), Value(-2.0)]
    (params[0] * params[1]).backward()
    before = [(p.data, p.grad) for p in params]
    optimizer = SGD(params, lr=0.1)
    optimizer.step()
    assert [p.data for p in params] == [d - 0.1 * g for d, g in before]
    optimizer.step(lr=0.5)
    assert [p.data for p in params] == [d - 0.1 * g - 0.5 * g for d, g in before]
    optimizer.zero_grad()
    assert [p.grad for p in params] == [0.0, 0.0]


def test_make_moons_is_seeded_balanced_and_noisy_as_asked() -> None:
    X, y = demo.make_moons(100, noise=0.1, seed=3)
    assert demo.make_moons(100, noise=0.1, seed=3) == (X, y)
    assert demo.make_moons(100, noise=0.1, seed=4)[0] != X
    assert len(X) == 100 and all(len(row) == 2 for row in X) and sorted(set(y)) == [-1.0, 1.0] and y.count(1.0) == 50
    clean, _ = demo.make_moons(100, noise=0.0, seed=3)
    assert all(math.isclose(math.hypot(a, b), 1.0) for (a, b), label in zip(clean, y) if label < 0)  # the outer half circle
    with pytest.raises(ValueError, match="at least 2"):
        demo.make_moons(1)


def test_learning_rate_is_the_demos_schedule() -> None:
    assert [demo.learning_rate(k) for k in range(100)] == pytest.approx([1.0 - 0.9 * k / 100 for k in range(100)], rel=1e-15)


def test_loss_rejects_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="svm, mse"):
        demo.loss(MLP(2, [1], seed=0), [[0.0, 0.0]], [1.0], kind="hinge")


def test_the_classic_demo_reaches_full_training_accuracy(capsys: pytest.CaptureFixture[str]) -> None:
    state = random.getstate()
    demo.main([])  # two moons (100 points, noise 0.1), MLP(2, [16, 16, 1]), SVM + 1e-4 L2, 100 full-batch steps
    out = capsys.readouterr().out
    assert "final accuracy 100% after 100 steps" in out, out[-500:]
    assert random.getstate() == state
    losses = [float(v) for v in re.findall(r"loss (\S+)", out)]
    assert len(losses) == 100 and losses[-1] < losses[0] / 10


# --- the typed ways to call a model ---


def test_score_and_outputs_say_what_model_x_returns() -> None:
    single, multi = MLP(2, [4, 1], seed=0), MLP(2, [4, 3], seed=0)
    x = [0.5, -1.0]
    assert type(single.score(x)) is Value and single.score(x).data == single(x).data
    assert [v.data for v in single.outputs(x)] == [single.score(x).data]
    assert [v.data for v in multi.outputs(x)] == [v.data for v in multi(x)]
    with pytest.raises(ValueError, match=r"MLP\[2, 4, 3\] has 3 outputs; use model.outputs\(x\)"):
        multi.score(x)
    assert len(MLP(2, [1, 2], seed=0).outputs(x)) == 2  # a one-neuron hidden layer passes a list on, not a bare Value
