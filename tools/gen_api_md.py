#!/usr/bin/env python3
"""Writes docs/api.md, hepnn's API "at a glance", from the headers' struct definitions.

    tools/gen_api_md.py           # regenerate docs/api.md
    tools/gen_api_md.py --check   # exit 1 (with a diff) when docs/api.md is not what this writes

Every option struct (compile, fit, callbacks, losses, optimizers, schedules, metrics, layers, data
and file options) is read from its header: its fields in declaration order, their types, their
default member initializers and the comment beside or above each field. The names that appear
in logs, History, CSV files and model files are read from the code that writes them (metric_name,
loss_name, optimizer_name, the layer registry). The prose is in the template below.

Run it after changing a struct in a header (adding, removing, reordering a field, or a default).
Parsing is deliberately simple and line-based, for hepnn's style: a struct opens with
`struct Name {` at the start of a line and closes with `};`, and each field is one line
`Type name = default;  // comment` (several names, `T a = 1, b = 2;`, are split), or has `///`
lines above it. Python standard library only.
"""
import argparse
import difflib
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INC = os.path.join(ROOT, "include", "hepnn")
OUT = os.path.join(ROOT, "docs", "api.md")

# Meanings for fields whose header has no comment yet (a comment in the header wins). Only what
# the code does: read it before adding a line here, or better, write the comment in the header.
FALLBACK = {
    ("CompileOptions", "loss"): "the loss (a loss struct, below)",
    ("CompileOptions", "optimizer"): "the optimizer (an optimizer struct, below)",
    ("CompileOptions", "metrics"): "metrics computed each epoch (metric structs, below)",
    ("FitOptions", "epochs"): "train until this epoch number (exclusive; counted from 0)",
    ("FitOptions", "batch_size"): "events per step (the last batch of an epoch may be smaller)",
    ("FitOptions", "callbacks"): "callback structs (below), or a std::shared_ptr to your CallbackBase subclass",
    ("FitOptions", "initial_epoch"): "first epoch number: resume a training (with the optimizer state from a model file)",
    ("FitOptions", "validation_batch_size"): "events per forward pass when scoring the validation data",
    ("EvaluateOptions", "batch_size"): "events per forward pass",
    ("EarlyStopping", "monitor"): "the log key to watch (see \"Log keys\")",
    ("EarlyStopping", "patience"): "epochs without improvement before stopping",
    ("EarlyStopping", "min_delta"): "smallest change that counts as an improvement",
    ("EarlyStopping", "mode"): "\"auto\", \"min\" or \"max\" (see \"Log keys\")",
    ("EarlyStopping", "restore_best"): "put back the weights of the best epoch when training ends",
    ("ReduceLROnPlateau", "monitor"): "the log key to watch",
    ("ReduceLROnPlateau", "factor"): "multiplies the learning rate, in (0, 1)",
    ("ReduceLROnPlateau", "patience"): "epochs without improvement before reducing",
    ("ReduceLROnPlateau", "min_delta"): "smallest change that counts as an improvement",
    ("ReduceLROnPlateau", "cooldown"): "epochs to wait after a reduction before counting again",
    ("ReduceLROnPlateau", "min_lr"): "the learning rate is not reduced below this",
    ("ReduceLROnPlateau", "mode"): "\"auto\", \"min\" or \"max\"",
    ("CSVLogger", "filename"): "the CSV file (required)",
    ("CSVLogger", "append"): "append to an existing file (no second header) instead of overwriting",
    ("LambdaCallback", "on_train_begin"): "called once before the first epoch",
    ("LambdaCallback", "on_epoch_begin"): "called at the start of every epoch",
    ("LambdaCallback", "on_batch_end"): "called after every step with the batch's loss",
    ("LambdaCallback", "on_epoch_end"): "called with the epoch's logs (after validation)",
    ("LambdaCallback", "on_train_end"): "called once when training ends",
    ("ModelCheckpoint", "model"): "the model to save (required)",
    ("ModelCheckpoint", "filepath"): "the file; `{epoch}` in it becomes the epoch number from 1",
    ("ModelCheckpoint", "monitor"): "the log key that save_best_only watches",
    ("ModelCheckpoint", "save_best_only"): "save only when `monitor` improved (else every epoch)",
    ("ModelCheckpoint", "mode"): "\"auto\", \"min\" or \"max\"",
    ("DataSpec", "features"): "one N-D dataset holding the features (or give feature_columns)",
    ("DataSpec", "feature_columns"): "1-D column datasets stacked side by side as the features",
    ("DataSpec", "targets"): "one dataset holding the targets (or give target_columns)",
    ("DataSpec", "target_columns"): "1-D column datasets stacked as the targets",
    ("DataSpec", "weights"): "the 1-D dataset of event weights",
    ("DataNames", "features"): "dataset name write_dataset gives the features",
    ("DataNames", "targets"): "dataset name write_dataset gives the targets",
    ("DataNames", "weights"): "dataset name write_dataset gives the weights",
    ("StreamOptions", "seed"): "seed of the chunk order and of the shuffles within windows",
    ("ShuffleOptions", "features"): "features dataset; empty: as the file records",
    ("ShuffleOptions", "targets"): "targets dataset; empty: as the file records",
    ("ShuffleOptions", "weights"): "weights dataset; empty: as the file records",
    ("ShuffleOptions", "memory_budget_bytes"): "the number of buckets is chosen so that one bucket fits this",
    ("ShuffleOptions", "seed"): "seed of the random order",
    ("CsvSpec", "feature_columns"): "columns stacked, in this order, as the features",
    ("CsvSpec", "target_columns"): "columns stacked, in this order, as the targets",
    ("CsvSpec", "weight_column"): "column of event weights; empty: weights 1",
    ("SplitFractions", "validation"): "fraction of the events in the validation part",
    ("SplitFractions", "test"): "fraction of the events in the test part",
    ("Huber", "delta"): "where the loss turns from quadratic to linear",
    ("BinaryCrossEntropy", "from_logits"): "the output is a logit (no sigmoid layer); recommended",
    ("CategoricalCrossEntropy", "from_logits"): "the outputs are logits (no softmax layer); recommended",
    ("Accuracy", "threshold"): "one output: an event is called signal when its probability is above this",
    ("SignalEfficiency", "background_rejection"): "1 - background efficiency at which to read the signal efficiency",
}
COMMON_OPTIMIZER = {
    "learning_rate": "base learning rate (the schedule scales it)",
    "weight_decay": "L2 penalty added to the gradient (AdamW: decoupled, p -= lr * weight_decay * p)",
    "clip_norm": "rescale the gradient when its global L2 norm exceeds this; 0 = off",
    "schedule": "learning-rate schedule (a schedule struct, below)",
    "epsilon": "added to the denominator",
    "beta1": "decay of the first-moment average",
    "beta2": "decay of the second-moment average",
    "momentum": "momentum factor, in [0, 1)",
    "nesterov": "Nesterov momentum (needs momentum > 0)",
    "rho": "decay of the squared-gradient average",
    "initial_accumulator_value": "starting value of the squared-gradient sums",
}
LAYER_COMMON = {
    "name": "layer name; empty: automatic (see \"Layers\")",
    "activation": "activation fused into the layer (an Activation value)",
    "use_bias": "add a bias vector",
    "kernel_initializer": "initialiser of the weights (an Init value)",
    "bias_initializer": "initialiser of the bias (an Init value)",
}

# Examples shown under a struct's table (others get one made from its defaults). Each is checked
# against the header: its designators must name fields of the struct in declaration order.
EXAMPLES = {
    "CompileOptions": "CompileOptions{.loss = BinaryCrossEntropy{.from_logits = true}, .optimizer = Adam{.learning_rate = 1e-3}, .metrics = {metrics::AUC{}}}",
    "FitOptions": "FitOptions<float>{.epochs = 30, .batch_size = 256, .validation = split.validation, .callbacks = {EarlyStopping{.patience = 5}}}",
    "EarlyStopping": "EarlyStopping{.monitor = \"val_auc\", .patience = 5, .restore_best = true}",
    "ReduceLROnPlateau": "ReduceLROnPlateau{.factor = 0.5, .patience = 3, .min_lr = 1e-5}",
    "CSVLogger": "CSVLogger{.filename = \"training.csv\"}",
    "LambdaCallback": "LambdaCallback{.on_epoch_end = [](int epoch, const Logs& logs, TrainingControl&) { std::printf(\"%d %g\\n\", epoch, logs.at(\"loss\")); }}",
    "ModelCheckpoint": "io::ModelCheckpoint<float>{.model = &model, .filepath = \"best.h5\", .save_best_only = true}",
    "SGD": "SGD{.learning_rate = 0.1, .momentum = 0.9, .nesterov = true}",
    "Adam": "Adam{.learning_rate = 3e-4, .clip_norm = 1.0}",
    "AdamW": "AdamW{.learning_rate = 1e-3, .weight_decay = 0.01, .schedule = CosineDecay{.decay_steps = 10000}}",
    "Dense": "Dense{.units = 64, .activation = Activation::relu}",
    "Conv2D": "Conv2D{.filters = 32, .kernel_size = 3, .padding = Padding::same, .activation = Activation::relu}",
    "MaxPool2D": "MaxPool2D{.pool_size = 2}",
    "Dropout": "Dropout{.rate = 0.2}",
    "SplitFractions": "SplitFractions{.validation = 0.2, .test = 0.2}",
    "DataSpec": "io::DataSpec{.feature_columns = {\"pt\", \"eta\", \"phi\"}, .targets = \"label\"}",
    "StreamOptions": "io::StreamOptions{.memory_budget_bytes = 256 << 20, .window_chunks = 8}",
}

NO_EXAMPLE = {"Padding"}  # written Padding::valid, Padding::same, Padding::pads(...)


def check_example(st, ex):
    """Raises when the example's designators are not fields of st in declaration order."""
    open_at = ex.index("{")
    depth, end = 0, -1
    for i in range(open_at, len(ex)):
        depth += ex[i] == "{"
        depth -= ex[i] == "}"
        if depth == 0:
            end = i
            break
    order = [f[1] for f in st.fields]
    last = -1
    for item in split_top(ex[open_at + 1:end]):
        m = re.match(r"^\.(\w+)\s*=", item)
        if not m or m.group(1) not in order or order.index(m.group(1)) <= last:
            raise SystemExit(f"gen_api_md: the example for {st.name} ({ex}) does not follow the fields of "
                             f"{st.header} in declaration order ({', '.join(order)}): fix EXAMPLES in tools/gen_api_md.py")
        last = order.index(m.group(1))


# ---------------------------------------------------------------- parsing


def code_part(line):
    """The line without a trailing // comment (string literals respected) and the comment."""
    in_str = None
    i = 0
    while i < len(line):
        c = line[i]
        if in_str:
            if c == "\\":
                i += 2
                continue
            if c == in_str:
                in_str = None
        elif c in "\"'":
            in_str = c
        elif line.startswith("//", i):
            return line[:i], line[i:]
        i += 1
    return line, ""


def strip_strings(code):
    return re.sub(r'"(\\.|[^"\\])*"', '""', re.sub(r"'(\\.|[^'\\])*'", "''", code))


def split_top(text, sep=","):
    """Splits at `sep` outside <>, (), {}, []."""
    parts, depth, cur = [], 0, ""
    for c in text:
        if c in "<({[":
            depth += 1
        elif c in ">)}]":
            depth -= 1
        if c == sep and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += c
    parts.append(cur)
    return [p.strip() for p in parts]


def without_angles(text):
    out, depth = "", 0
    for c in text:
        if c == "<":
            depth += 1
        elif c == ">":
            depth -= 1
        elif depth == 0:
            out += c
    return out


def clean_comment(c):
    c = c.strip()
    c = re.sub(r"^//[/!]?<?\s?", "", c)
    return c.strip()


def clean_ns(ns):
    return re.sub(r"::inline\s+HEPNN_ABI", "", "::".join(ns))


FIELD = re.compile(r"^(?P<type>.+?)\s+(?P<rest>[A-Za-z_]\w*\s*(=.*|\{.*\})?(,.*)?)$")
NOT_FIELD = re.compile(r"^(static|using|typedef|template|friend|return|public|private|protected|enum|struct|class|virtual|explicit|constexpr\s+\w+\(|#)")


class Struct:
    def __init__(self, name, ns, header, line, doc, template):
        self.name, self.ns, self.header, self.line, self.doc, self.template = name, ns, header, line, doc, template
        self.fields = []  # (type, name, default or None, comment)
        self.type_name = None
        self.has_constructor = False

    @property
    def qualified(self):
        return self.ns + "::" + self.name if self.ns else self.name


def top_level_index(text, chars, angles):
    """Index of the first of `chars` outside (), [], {} (and <> when `angles`), or -1."""
    depth = 0
    for i, c in enumerate(text):
        if c in "([{" or (angles and c == "<"):
            depth += 1
        elif c in ")]}" or (angles and c == ">"):
            depth -= 1
        elif c in chars and depth == 0:
            return i
    return -1


def split_declarator(piece, first):
    """(type, name, default) of `Type name = default` (first) or `name = default`; None if not one."""
    eq = top_level_index(piece, "={", angles=True)
    if eq >= 0:
        left, default = piece[:eq].rstrip(), piece[eq:]
        default = default[1:].strip() if default.startswith("=") else default.strip()
    else:
        left, default = piece.rstrip(), None
    m = re.match(r"^(.*?)\s*\b([A-Za-z_]\w*)$", left, re.S) if first else re.match(r"^()([A-Za-z_]\w*)$", left)
    if not m:
        return None
    return m.group(1).strip(), m.group(2), default


def parse_field(code, struct):
    """Data members declared by one line of a struct body: [(type, name, default)]."""
    code = code.strip()
    if not code.endswith(";") or NOT_FIELD.match(code):
        return []
    code = code[:-1].strip()
    # declarators are separated by commas outside brackets (<> counted in the type only)
    pieces, rest = [], code
    while True:
        eq = top_level_index(rest, "=", angles=True)
        comma_t = top_level_index(rest, ",", angles=True)
        if eq >= 0 and (comma_t < 0 or eq < comma_t):
            k = top_level_index(rest[eq:], ",", angles=False)
            if k < 0:
                pieces.append(rest)
                break
            pieces.append(rest[:eq + k])
            rest = rest[eq + k + 1:]
        elif comma_t >= 0:
            pieces.append(rest[:comma_t])
            rest = rest[comma_t + 1:]
        else:
            pieces.append(rest)
            break
    out = []
    typ = None
    for n, piece in enumerate(pieces):
        d = split_declarator(piece.strip(), first=(n == 0))
        if d is None:
            return []
        t, name, default = d
        if n == 0:
            typ = t
        if not typ or "(" in without_angles(typ) or typ.endswith("::") or re.search(r"\b(return|else|delete|operator)\b", typ):
            return []
        if name in ("noexcept", "const", "override", "default", "delete", "final"):
            return []
        if name.startswith("m_"):  # a private member (hepnn's naming), not an option
            continue
        out.append((typ, name, default))
    return out


def parse_header(rel):
    path = os.path.join(INC, rel)
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    structs, macros = [], {}
    stack = []  # ('ns', name) | ('struct', Struct) | ('block', None)
    doc = []
    template = None
    pending_comment_for_struct = []
    i = 0
    while i < len(lines):
        raw = lines[i]
        lineno = i + 1
        i += 1
        # macros defining a struct from their first parameter (HEPNN_ACTIVATION_SPEC): their body
        if raw.startswith("#define"):
            body = [raw]
            while body[-1].rstrip().endswith("\\") and i < len(lines):
                body.append(lines[i])
                i += 1
            m = re.match(r"#define\s+(\w+)\(([^)]*)\)", raw)
            if m and re.search(r"struct\s+" + re.escape(split_top(m.group(2))[0]) + r"\s*\{", "\n".join(body)):
                macros[m.group(1)] = ([p.strip() for p in m.group(2).split(",")], [b.rstrip("\\").rstrip() for b in body[1:]])
            doc = []
            continue
        stripped = raw.strip()
        if stripped.startswith("///"):
            doc.append(clean_comment(stripped))
            continue
        code, comment = code_part(raw)
        cs = strip_strings(code).strip()
        top = stack[-1] if stack else None
        in_public_ns = all(k == "ns" for k, _ in stack) and not any("detail" in n for k, n in stack if k == "ns")
        # a macro invocation that makes a struct
        mi = re.match(r"^(\w+)\((.*)\)\s*;?$", cs)
        if mi and mi.group(1) in macros and in_public_ns:
            params, body = macros[mi.group(1)]
            args = split_top(code.strip().rstrip(";")[len(mi.group(1)) + 1:-1])
            sub = dict(zip(params, args))
            st = Struct(sub[params[0]], clean_ns([n for _, n in stack]), rel, lineno, " ".join(doc), None)
            st.macro = (mi.group(1), args)
            for b in body:
                bc, bcom = code_part(b)
                bc = re.sub(r"\b(" + "|".join(map(re.escape, params)) + r")\b", lambda x: sub[x.group(1)], bc)
                if re.match(r"^\s{4}\S", b):  # member level of the macro's struct (hepnn's indentation)
                    for typ, name, default in parse_field(bc, st):
                        st.fields.append((typ, name, default, clean_comment(bcom)))
                tm = re.search(r"type_name\s*=\s*(\"[^\"]*\"|\w+)", bc)
                if tm:
                    st.type_name = tm.group(1).strip('"')
            structs.append(st)
            doc = []
            continue
        if top and top[0] == "struct" and len(stack) and cs and not cs.startswith("{"):
            st = top[1]
            if re.match(r"^(explicit\s+|constexpr\s+)*" + re.escape(st.name) + r"\s*\(", cs):
                st.has_constructor = True
            tm = re.match(r"^static\s+constexpr\s+const\s+char\s*\*\s*type_name\s*=\s*\"([^\"]*)\"", code.strip())
            if tm:
                st.type_name = tm.group(1)
            for typ, name, default in parse_field(code, st):
                meaning = clean_comment(comment) if comment else " ".join(doc)
                st.fields.append((typ, name, default, meaning))
        # braces
        ms = re.match(r"^(?:template\s*<.*>\s*)?struct\s+(\w+)\s*(?:final\s*)?(?::[^{]*)?\{", cs)
        mn = re.match(r"^namespace\s+([\w:]+(?:\s+HEPNN_ABI[\w:]*)?|[\w:]*inline\s+HEPNN_ABI[\w:]*)\s*\{", cs)
        if re.match(r"^template\s*<", cs) and not ms:
            template = cs
        opens, closes = cs.count("{"), cs.count("}")
        if ms and opens - closes == 1 and raw.startswith("struct") and in_public_ns:
            st = Struct(ms.group(1), clean_ns([n for _, n in stack]), rel, lineno, " ".join(doc), template)
            structs.append(st)
            stack.append(("struct", st))
        elif ms and opens == closes and raw.startswith("struct") and in_public_ns:  # struct X {};
            structs.append(Struct(ms.group(1), clean_ns([n for _, n in stack]), rel, lineno, " ".join(doc), template))
        elif mn and opens - closes == 1:
            name = re.sub(r"\s+", " ", cs[len("namespace"):cs.index("{")].strip())
            stack.append(("ns", name))
        else:
            for _ in range(opens):
                stack.append(("block", None))
            for _ in range(closes):
                if stack:
                    stack.pop()
        if not re.match(r"^template\s*<", cs):
            template = None
        if cs or not stripped:
            doc = []
    return structs


# ---------------------------------------------------------------- names from the code


def read(rel):
    with open(os.path.join(INC, rel), encoding="utf-8") as f:
        return f.read()


def metric_names():
    """(struct, log name) from metrics::metric_name."""
    text = read("train/metric_spec.hpp")
    body = text[text.index("metric_name("):]
    body = body[:body.index("std::visit")]
    out = []
    for chunk in body.split("operator()(const ")[1:]:
        m = re.match(r"(\w+)&\s*(\w*)\) const \{", chunk)
        if not m:
            continue
        simple = re.match(r"[^{]*\{\s*return \"(\w+)\";", chunk)
        if simple:
            out.append((m.group(1), "`" + simple.group(1) + "`"))
            continue
        fmt = re.search(r"\"(\w*)%g\"", chunk)
        field = re.search(r"\b" + re.escape(m.group(2)) + r"\.(\w+)", chunk) if m.group(2) else None
        if fmt and field:
            out.append((m.group(1), f"`{fmt.group(1)}<{field.group(1)}>` (printed with `%g`: e.g. `{fmt.group(1)}0.99`)"))
        else:
            out.append((m.group(1), "(see metric_name in train/metric_spec.hpp)"))
    return out


def name_array(rel, func):
    text = read(rel)
    m = re.search(re.escape(func) + r"\(.*?names\[\]\s*=\s*\{(.*?)\};", text, re.S)
    return re.findall(r"\"(\w+)\"", m.group(1)) if m else []


def variant_members(rel, alias):
    m = re.search(r"using\s+" + re.escape(alias) + r"\s*=\s*std::variant<(.*?)>;", read(rel), re.S)
    return [x.strip() for x in m.group(1).split(",")] if m else []


def registry_types():
    try:
        text = read("layers/registry.hpp")
    except OSError:
        return {}
    return {spec: name for spec, name in re.findall(r"add<(\w+)>\(\"(\w+)\"\)", text)}


def enum_values(rel, name):
    text = "\n".join(code_part(l)[0] for l in read(rel).split("\n"))
    m = re.search(r"enum class " + re.escape(name) + r"\s*(?::\s*\w+\s*)?\{([^}]*)\}", text)
    return [v.strip().split("=")[0].strip() for v in m.group(1).split(",") if v.strip()] if m else []


# ---------------------------------------------------------------- output

SECTIONS = [
    # (title, intro, [(header, [struct names] or None for all public structs of the header, excluded)])
    ("compile, fit and evaluate", "`model.compile(CompileOptions)`, `model.fit(data, FitOptions<T>)`, "
     "`model.evaluate(data, EvaluateOptions)`.",
     [("train/sequential.hpp", None, {"DatasetRef"})]),
    ("Functional models", "`Model<T, Device>{inputs, outputs}` (docs/functional.md): "
     "`model.compile(ModelCompileOptions)`, `model.fit(named_data, ModelFitOptions<T>)`.",
     [("graph/model_options.hpp", None, {"NamedDatasetRef"})]),
    ("Callbacks", "Put them in `FitOptions::callbacks`: `.callbacks = {EarlyStopping{.patience = 5}, "
     "CSVLogger{.filename = \"log.csv\"}}`. `ModelCheckpoint` is in `hepnn/io.hpp` (target `hepnn::io`).",
     [("train/callbacks.hpp", None, set()), ("io/model_file.hpp", ["ModelCheckpoint"], set())]),
    ("Losses", "`CompileOptions::loss` holds one of these (a `LossSpec`, a std::variant): "
     "`.loss = BinaryCrossEntropy{.from_logits = true}`. Event-weighted: docs/losses.md.",
     [("losses/loss.hpp", None, set())]),
    ("Optimizers", "`CompileOptions::optimizer` holds one of these (an `OptimizerSpec`): "
     "`.optimizer = Adam{.learning_rate = 1e-3, .clip_norm = 1.0}`.",
     [("optim/optimizer.hpp", None, set())]),
    ("Learning-rate schedules", "The `schedule` field of every optimizer (a `Schedule`): "
     "`SGD{.learning_rate = 0.1, .schedule = CosineDecay{.decay_steps = 10000}}`; the step counts "
     "optimizer updates from 0.",
     [("optim/schedule.hpp", None, set())]),
    ("Metrics", "In namespace `hepnn::metrics` (the loss structs share some names, so write "
     "`metrics::AUC{}`): `.metrics = {metrics::AUC{}, metrics::Accuracy{}}`.",
     [("train/metric_spec.hpp", None, set())]),
    ("Layers", "Arguments of `Sequential`'s constructor and of `add`: "
     "`Sequential<float, cpu> model{Input{5}, Dense{.units = 64, .activation = Activation::relu}, Dense{1}}`. "
     "`Dense{64}` works too: positional aggregate initialisation fills the first fields.",
     [("layers/input.hpp", None, set()), ("layers/dense.hpp", None, set()),
      ("layers/activations.hpp", None, set()), ("layers/dropout.hpp", None, set()),
      ("layers/flatten.hpp", None, set()), ("layers/reshape.hpp", None, set()), ("layers/permute.hpp", None, set()),
      ("layers/conv2d.hpp", None, set()), ("layers/pooling.hpp", None, set()),
      ("layers/batchnorm.hpp", None, set()), ("layers/padding.hpp", None, set()),
      ("layers/merge.hpp", None, set()), ("layers/sampling.hpp", None, set()),
      ("layers/layer_norm.hpp", None, set()), ("layers/masking.hpp", None, set()),
      ("layers/sequence_pooling.hpp", None, set()), ("layers/recurrent.hpp", None, set()),
      ("layers/attention.hpp", None, set())]),
    ("Data", "In namespace `hepnn::data` (`hepnn/hepnn.hpp`).",
     [("data/dataset.hpp", None, {"Split"}), ("data/csv.hpp", None, {"CsvTable"}),
      ("data/idx.hpp", None, {"FashionMnist"})]),
    ("Files (hepnn::io)", "In namespace `hepnn::io` (`hepnn/io.hpp`, target `hepnn::io`).",
     [("io/data_file.hpp", None, {"Role", "FileRoles", "ResolvedSpec"}), ("io/named_data.hpp", None, set()),
      ("io/streaming.hpp", None, set()), ("io/shuffle_file.hpp", None, set()),
      ("io/model_file.hpp", None, {"ModelCheckpoint", "ModelFileInfo"}), ("io/keras_layers.hpp", ["KerasOptions"], set())]),
]


def md_code(s):
    s = s.replace("|", "\\|")
    return "`" + s + "`" if s else ""


def meaning_for(st, name, comment):
    if comment:
        return comment
    if (st.name, name) in FALLBACK:
        return FALLBACK[(st.name, name)]
    if st.header.startswith("optim/optimizer") and name in COMMON_OPTIMIZER:
        return COMMON_OPTIMIZER[name]
    if st.header.startswith("layers/") and name in LAYER_COMMON:
        return LAYER_COMMON[name]
    return ""


def example(st, registry):
    """A designated-initializer example: the first fields with non-trivial defaults, in order."""
    if st.has_constructor or not st.fields or st.name in NO_EXAMPLE:
        return None
    if st.name in EXAMPLES:
        check_example(st, EXAMPLES[st.name])
        return EXAMPLES[st.name]
    picks = []
    for typ, name, default, _ in st.fields:
        if default in (None, "{}", "nullptr") or "function" in typ or "*" in typ:
            continue
        picks.append(f".{name} = {default}")
        if len(picks) == 2:
            break
    if not picks:
        return None
    head = re.sub(r"^hepnn::", "", st.qualified) + ("<float>" if st.template else "")
    return f"{head}{{{', '.join(picks)}}}"


def struct_md(st, registry, missing):
    out = []
    tmpl = ""
    if st.template:
        tmpl = " " + re.sub(r"\s+", " ", st.template.replace("template", "").strip())
    out.append(f"### `{st.qualified}`{tmpl}")
    out.append("")
    extra = []
    if st.doc:
        extra.append(st.doc)
    if st.type_name is not None:
        t = registry.get(st.name, st.name)
        extra.append(f"Automatic layer names `{st.type_name}_1`, `{st.type_name}_2`, ...; type `{t}` in model files.")
    if st.has_constructor:
        extra.append("Not an aggregate (it has constructors): no designated initializers.")
    if extra:
        out.append(" ".join(extra))
        out.append("")
    out.append(f"<sub>include/hepnn/{st.header}</sub>")
    out.append("")
    if not st.fields:
        out.append("No fields: `" + st.name + "{}`.")
        out.append("")
        return out
    out.append("| # | field | type | default | meaning |")
    out.append("|---|---|---|---|---|")
    for k, (typ, name, default, comment) in enumerate(st.fields, 1):
        meaning = meaning_for(st, name, comment)
        if not meaning:
            missing.append(f"{st.header}: {st.name}::{name}")
        if default is None:
            d = "(none: empty / zero)"
        elif default == "{}":
            d = "`{}` (empty)"
        else:
            d = md_code(default)
        out.append(f"| {k} | `.{name}` | {md_code(typ)} | {d} | {meaning.replace('|', '/')} |")
    out.append("")
    ex = example(st, registry)
    if ex:
        out.append(f"Example: `{ex}`")
        out.append("")
    return out


TEMPLATE_HEAD = """\
# hepnn API at a glance

<!-- Generated by tools/gen_api_md.py from the headers: do not edit by hand. After changing a
struct (a field added, removed, reordered, or a new default), run tools/gen_api_md.py; CI runs
tools/gen_api_md.py --check. -->

Every option struct of hepnn with its fields **in declaration order**, their types and defaults;
the callbacks; the keys of the per-epoch logs (what History, CSVLogger, EarlyStopping's `monitor`
and the progress line use); and the names of metrics, losses, optimizers and layers as they
appear in logs and model files. The full reference is the headers' own comments: `cmake -S . -B
build -DHEPNN_DOCS=ON && cmake --build build --target docs` builds it with Doxygen
(build/docs/html/index.html).

## Designated initializers: declaration order

hepnn's options are plain structs, written with C++20 designated initializers, Keras-style:

```cpp
model.compile({.loss = BinaryCrossEntropy{.from_logits = true},
               .optimizer = Adam{.learning_rate = 1e-3},
               .metrics = {metrics::AUC{}}});
History h = model.fit(train, {.epochs = 30, .batch_size = 256, .validation = val,
                              .callbacks = {EarlyStopping{.patience = 5, .restore_best = true}}});
```

Unlike Python keyword arguments, **the designators must follow the order in which the fields are
declared** (the "#" column below). Any field may be left out (it keeps its default), but none may
come before a field declared earlier. Out of order, GCC says

    error: designator order for field 'hepnn::FitOptions<float>::epochs' does not match declaration order in 'hepnn::FitOptions<float>'

and clang says `ISO C++ requires field designators to be specified in declaration order`. The
fix is to reorder the designators as in the tables below. Also:

- designated and positional initializers cannot be mixed in one brace list (`Dense{64, .use_bias = false}`
  is an error; write `Dense{.units = 64, .use_bias = false}`);
- a field that holds a variant (`loss`, `optimizer`, `schedule`, `metrics`) takes a struct named
  with its type: `.loss = Huber{.delta = 2.0}`, not `.loss = {.delta = 2.0}`;
- structs with constructors (`Input`, `Size2`) are not aggregates: `Input{28, 28, 1}`, `Size2{3, 5}`.

Defaults marked "(none: empty / zero)" have no default member initializer: a field left out is
value-initialised (an empty string, a null pointer, zero), which for some (`CSVLogger::filename`,
`ModelCheckpoint::model`) is an error when fit starts.
"""

LOG_KEYS = """\
## Log keys (History, CSVLogger, progress line, `monitor`)

At the end of every epoch `fit` builds the epoch's logs (`hepnn::Logs`, a
`std::map<std::string, double>`) and hands them to the progress line, to `History` and to every
callback's `on_epoch_end`. The keys:

| key | when | value |
|---|---|---|
| `loss` | always | weighted mean training loss of the epoch, sum w l / sum w over its batches |
| `<metric>` | fit on a data set, per compiled metric | the metric over the whole epoch's training predictions (names below); **not** computed by fit on a batch source (a streamed file) |
| `val_loss` | validation data given (`validation` or `validation_split`) | weighted mean loss over the validation events |
| `val_<metric>` | validation data given, per compiled metric | the metric over the validation events, e.g. `val_auc`, `val_accuracy` |
| `lr` | always | the learning rate at the end of the epoch (schedule x ReduceLROnPlateau factor): the rate the next step uses |

- `History::values` has one series per key (`h["val_loss"]`, `h.contains("val_auc")`), and
  `History::epochs` the epoch numbers, from 0; `History::stop_reason` says why training stopped
  early (empty otherwise).
- `CSVLogger` writes a header `epoch,<keys in alphabetical order>` and one row per epoch.
- `evaluate(dataset)` returns the same keys without a prefix (`loss`, `auc`, ...) and without `lr`;
  `evaluate` on a batch source returns `loss` only.
- `monitor` of EarlyStopping, ReduceLROnPlateau and ModelCheckpoint is one of these keys; a key
  that is not in the logs (e.g. `val_loss` without validation data) is an error that lists the
  keys there are. With `mode = "auto"`, a key containing `acc`, `auc`, `eff` or `r2` is maximised
  (`val_accuracy`, `val_auc`, `val_sig_eff_at_rej_0.99`, `val_r2`), any other key minimised
  (`val_loss`, `val_mse`, `val_mae`, `val_log_loss`).
"""

CALLBACK_NOTES = """\
Writing your own: derive from `hepnn::CallbackBase` and override any of `on_train_begin(TrainingControl&)`,
`on_epoch_begin(int epoch, TrainingControl&)`, `on_batch_end(int epoch, std::int64_t batch, double loss,
TrainingControl&)`, `on_epoch_end(int epoch, const Logs&, TrainingControl&)`, `on_train_end(TrainingControl&)`;
put a `std::shared_ptr` to it in `callbacks`. `TrainingControl` offers `learning_rate()`,
`learning_rate_factor()` / `set_learning_rate_factor(f)`, `stop_training(reason)` and
`get_weights()` / `set_weights(w)`. The option structs above are turned into a fresh callback
object for every fit, so one `FitOptions` can be reused.
"""


def names_section(registry):
    out = ["## Names in logs and model files", ""]
    out.append("### Metrics")
    out.append("")
    out.append("| metric struct | log key (`val_` prefix for validation) | `type` in model files |")
    out.append("|---|---|---|")
    try:
        stored = dict(re.findall(r"const metrics::(\w+)&[^{]*\{\s*return \{\{\"type\", \"(\w+)\"\}", read("io/config_json.hpp")))
    except OSError:
        stored = {}
    for struct, key in metric_names():
        out.append(f"| `metrics::{struct}` | {key} | `{stored.get(struct, '?')}` |")
    out.append("")
    losses = variant_members("losses/loss.hpp", "LossSpec")
    lnames = name_array("losses/loss.hpp", "loss_name")
    out.append("### Losses")
    out.append("")
    out.append("The loss is always logged as `loss` / `val_loss`. Its name (in `summary()` and as `type` in model "
               "files) is the struct's name; `MSE` and `MAE` are aliases of `MeanSquaredError` and `MeanAbsoluteError`.")
    out.append("")
    out.append("| loss struct | name in summary() and model files |")
    out.append("|---|---|")
    for s, n in zip(losses, lnames):
        out.append(f"| `{s}` | `{n}` |")
    if len(losses) != len(lnames):
        out.append("")
        out.append(f"(LossSpec has {len(losses)} alternatives, loss_name {len(lnames)} names: see losses/loss.hpp.)")
    out.append("")
    opts = variant_members("optim/optimizer.hpp", "OptimizerSpec")
    onames = name_array("optim/optimizer.hpp", "optimizer_name")
    out.append("### Optimizers")
    out.append("")
    out.append("| optimizer struct | name in summary() and model files |")
    out.append("|---|---|")
    for s, n in zip(opts, onames):
        out.append(f"| `{s}` | `{n}` |")
    out.append("")
    out.append("Schedules are stored with `type` = the struct's name (`ConstantLR`, `StepDecay`, ...).")
    out.append("")
    out.append("### Layers")
    out.append("")
    out.append("A layer without a `name` is named after its kind and a count per kind, in the order of the "
               "model (`dense_1`, `dense_2`, `relu_1`, ...: see the table); its `type` in model files is what "
               "io::load_model looks up in the layer registry (`io::register_layer<Spec>(type)` adds your own).")
    out.append("")
    out.append("| spec | automatic names | type in model files |")
    out.append("|---|---|---|")
    return out


def layer_rows(structs, registry):
    rows = []
    for st in structs:
        if st.type_name is not None:
            rows.append(f"| `{st.name}` | `{st.type_name}_1`, `{st.type_name}_2`, ... | `{registry.get(st.name, '?')}` |")
    return rows


def enums_section():
    out = ["## Enumerations used in options", ""]
    for rel, name, where in [("ops/activation_kind.hpp", "Activation", "`Dense::activation`, `Conv2D::activation`"),
                             ("init/initializers.hpp", "Init", "`kernel_initializer`, `bias_initializer`"),
                             ("layers/padding.hpp", "Mode", "`Padding::mode`; write `Padding::valid`, `Padding::same` "
                              "or `Padding::pads(top, bottom, left, right)`")]:
        vals = enum_values(rel, name)
        qual = "Padding::Mode" if name == "Mode" else name
        out.append(f"- `{qual}` ({where}): " + ", ".join(f"`{v}`" for v in vals))
    # separators of text files, when the header has them
    try:
        seps = enum_values("data/csv.hpp", "Separator")
    except OSError:
        seps = []
    if seps:
        out.append("- `data::Separator` (`TextOptions::separator`): " + ", ".join(f"`{v}`" for v in seps))
    out.append("")
    return out


def generate():
    registry = registry_types()
    missing = []
    parsed = {}
    out = [TEMPLATE_HEAD]
    toc = ["## Contents", ""]
    body = []
    for title, intro, sources in SECTIONS:
        anchor = re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-")
        toc.append(f"- [{title}](#{anchor})")
        body.append(f"## {title}")
        body.append("")
        body.append(intro)
        body.append("")
        for rel, only, excluded in sources:
            if not os.path.exists(os.path.join(INC, rel)):
                continue
            if rel not in parsed:
                parsed[rel] = parse_header(rel)
            for st in parsed[rel]:
                if (only is not None and st.name not in only) or st.name in excluded:
                    continue
                body += struct_md(st, registry, missing)
        if title == "Callbacks":
            body.append(CALLBACK_NOTES)
    toc += ["- [Enumerations used in options](#enumerations-used-in-options)",
            "- [Log keys](#log-keys-history-csvlogger-progress-line-monitor)",
            "- [Names in logs and model files](#names-in-logs-and-model-files)", ""]
    out += toc
    out += body
    out += enums_section()
    out.append(LOG_KEYS)
    out += names_section(registry)
    layer_structs = [st for rel in parsed if rel.startswith("layers/") for st in parsed[rel]]
    out += layer_rows(layer_structs, registry)
    out.append("")
    text = "\n".join(out)
    text = re.sub(r"\n{3,}", "\n\n", text).rstrip("\n") + "\n"
    return text, missing


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 when docs/api.md differs from what would be generated")
    args = ap.parse_args()
    text, missing = generate()
    if missing:
        print("gen_api_md: note: fields without a meaning (write a comment beside them in the header):", file=sys.stderr)
        for m in missing:
            print("    " + m, file=sys.stderr)
    if args.check:
        try:
            with open(OUT, encoding="utf-8") as f:
                old = f.read()
        except OSError:
            old = ""
        if old != text:
            sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), text.splitlines(True),
                                                       "docs/api.md", "docs/api.md (generated)"))
            print("gen_api_md: docs/api.md is out of date: run tools/gen_api_md.py and commit it", file=sys.stderr)
            return 1
        print("gen_api_md: docs/api.md is up to date")
        return 0
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"gen_api_md: wrote docs/api.md ({text.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
