#!/usr/bin/env python3
"""Render a crate's rustdoc JSON as its public API: one sorted line per public item.

Usage: public-api.py OUT-DIR PACKAGE=CRATE.json...   (writes OUT-DIR/PACKAGE.txt for each)

The input is what `cargo rustdoc -p PACKAGE --lib -- -Z unstable-options --output-format json`
writes (see scripts/public-api.sh, which runs it and explains RUSTC_BOOTSTRAP). Each line is

    <full public path> [<kind>] <signature>

for every module, struct (and each public field), enum (and each variant with its fields),
union, trait (and each of its items), function, method, associated const/type, const,
static, type alias, macro and re-export reachable from the crate root, plus one `[impl]`
line per trait implemented by a public type (derived, hand-written and the stable auto
traits; blanket impls such as `impl<T> From<T> for T` are left out). An item reachable at
several public paths is listed at each. Types in signatures are written with their public
path: `crate::X` for this crate's items, the defining path for other crates' items
(`chrono::naive::date::NaiveDate`), and the bare name for the standard prelude's types.

Only the rustdoc JSON format versions in SUPPORTED_FORMATS are read: the format is
unstable and changes between toolchains, so an unknown version (or an item or type kind
this script does not know) is an error, never a silently wrong listing. Standard library
only; no dependencies.
"""

import json
import os
import re
import sys

# rustdoc JSON `format_version`s this renderer was written and checked against
# (57: rustc 1.95). To support a new one, read the changes to src/rustdoc-json-types/lib.rs
# in rust-lang/rust between the versions, adapt the renderer, and add the number here.
SUPPORTED_FORMATS = {57}

# Standard library items written by their bare name (all in the 2021/2024 prelude).
PRELUDE = {
    "core::option::Option": "Option",
    "core::result::Result": "Result",
    "alloc::string::String": "String",
    "alloc::vec::Vec": "Vec",
    "alloc::boxed::Box": "Box",
    "core::clone::Clone": "Clone",
    "core::marker::Copy": "Copy",
    "core::marker::Send": "Send",
    "core::marker::Sync": "Sync",
    "core::marker::Sized": "Sized",
    "core::marker::Unpin": "Unpin",
    "core::cmp::PartialEq": "PartialEq",
    "core::cmp::Eq": "Eq",
    "core::cmp::PartialOrd": "PartialOrd",
    "core::cmp::Ord": "Ord",
    "core::ops::drop::Drop": "Drop",
    "core::ops::function::Fn": "Fn",
    "core::ops::function::FnMut": "FnMut",
    "core::ops::function::FnOnce": "FnOnce",
    "core::convert::From": "From",
    "core::convert::Into": "Into",
    "core::convert::TryFrom": "TryFrom",
    "core::convert::TryInto": "TryInto",
    "core::convert::AsRef": "AsRef",
    "core::convert::AsMut": "AsMut",
    "core::default::Default": "Default",
    "core::iter::traits::iterator::Iterator": "Iterator",
    "core::iter::traits::collect::IntoIterator": "IntoIterator",
    "core::iter::traits::collect::Extend": "Extend",
    "alloc::string::ToString": "ToString",
    "alloc::borrow::ToOwned": "ToOwned",
}
for _full, _short in list(PRELUDE.items()):
    PRELUDE["std" + _full[_full.index("::") :]] = _short

# Auto traits whose (synthetic) impls are listed: losing one is a breaking change. The
# unstable ones rustdoc also reports (`Freeze`, `UnsafeUnpin`, ...) are left out.
STABLE_AUTO_TRAITS = {"Send", "Sync", "Unpin", "UnwindSafe", "RefUnwindSafe"}


# Unstable traits that derives implement (`#[derive(PartialEq)]` adds `StructuralPartialEq`);
# not nameable on stable, so not part of the API users see.
UNSTABLE_TRAITS = {"core::marker::StructuralPartialEq"}


class Unsupported(Exception):
    """The JSON has a shape this renderer does not know."""


def one(tagged, what):
    """The single (tag, value) of an externally tagged enum (`{"tag": value}` or "tag")."""
    if isinstance(tagged, str):
        return tagged, None
    if isinstance(tagged, dict) and len(tagged) == 1:
        return next(iter(tagged.items()))
    raise Unsupported(f"{what}: unexpected shape {json.dumps(tagged)[:200]}")


class Api:
    def __init__(self, doc, package, siblings=None):
        # crate name -> {defining path: public path} of the other crates rendered in this run,
        # so that their types are written by the path users name them with
        self.siblings = siblings or {}
        self.index = doc["index"]
        self.paths = doc["paths"]
        self.root = doc["root"]
        self.crate = self.index[str(self.root)]["name"]
        # id -> public paths (lists of segments) under which this crate exposes it
        self.public = {}
        self.lines = set()
        self.impls_shown = set()

    # ---------- lookups ----------

    def item(self, id_):
        return self.index.get(str(id_)) if id_ is not None else None

    def kind_of(self, item):
        return one(item["inner"], f"item {item.get('id')}")

    def path_of(self, id_, fallback):
        """How a type or trait with this id is written in a signature."""
        if id_ is not None and id_ in self.public:
            best = min(self.public[id_], key=lambda p: (len(p), p))
            return "::".join(["crate"] + best[1:])
        summary = self.paths.get(str(id_)) if id_ is not None else None
        if summary is not None:
            full = "::".join(summary["path"])
            if summary["crate_id"] == 0:
                full = "::".join(["crate"] + summary["path"][1:])
            else:
                full = self.siblings.get(summary["path"][0], {}).get(full, full)
            return PRELUDE.get(full, full)
        return fallback

    # ---------- types ----------

    def ty(self, t):
        tag, v = one(t, "type")
        if tag == "resolved_path":
            return self.path(v)
        if tag == "dyn_trait":
            parts = [self.poly_trait(p) for p in v["traits"]]
            if v.get("lifetime"):
                parts.append(v["lifetime"])
            return "dyn " + " + ".join(parts)
        if tag in ("generic", "primitive"):
            return v
        if tag == "function_pointer":
            hrtb = self.for_params(v["generic_params"])
            return f"{hrtb}{self.header(v['header'])}fn({self.inputs(v['sig'], False)}){self.output(v['sig'])}"
        if tag == "tuple":
            inner = ", ".join(self.ty(x) for x in v)
            return f"({inner},)" if len(v) == 1 else f"({inner})"
        if tag == "slice":
            return f"[{self.ty(v)}]"
        if tag == "array":
            return f"[{self.ty(v['type'])}; {v['len']}]"
        if tag == "pat":
            return self.ty(v["type"])
        if tag == "impl_trait":
            return "impl " + self.bounds(v)
        if tag == "infer":
            return "_"
        if tag == "raw_pointer":
            return ("*mut " if v["is_mutable"] else "*const ") + self.ty(v["type"])
        if tag == "borrowed_ref":
            lt = v["lifetime"] + " " if v.get("lifetime") else ""
            return "&" + lt + ("mut " if v["is_mutable"] else "") + self.ty(v["type"])
        if tag == "qualified_path":
            self_ty = self.ty(v["self_type"])
            args = self.generic_args(v.get("args"))
            if v.get("trait") is None:
                return f"{self_ty}::{v['name']}{args}"
            return f"<{self_ty} as {self.path(v['trait'])}>::{v['name']}{args}"
        raise Unsupported(f"type kind {tag!r}")

    def path(self, p):
        return self.path_of(p.get("id"), p["path"]) + self.generic_args(p.get("args"))

    def generic_args(self, args):
        if args is None:
            return ""
        tag, v = one(args, "generic args")
        if tag == "angle_bracketed":
            parts = [self.generic_arg(a) for a in v["args"]]
            parts += [self.constraint(c) for c in v["constraints"]]
            return f"<{', '.join(parts)}>" if parts else ""
        if tag == "parenthesized":
            out = f" -> {self.ty(v['output'])}" if v.get("output") else ""
            return f"({', '.join(self.ty(x) for x in v['inputs'])}){out}"
        if tag == "return_type_notation":
            return "(..)"
        raise Unsupported(f"generic args {tag!r}")

    def generic_arg(self, a):
        tag, v = one(a, "generic arg")
        if tag == "lifetime":
            return v
        if tag == "type":
            return self.ty(v)
        if tag == "const":
            return v["expr"]
        if tag == "infer":
            return "_"
        raise Unsupported(f"generic arg {tag!r}")

    def constraint(self, c):
        head = c["name"] + self.generic_args(c.get("args"))
        tag, v = one(c["binding"], "constraint")
        if tag == "equality":
            return f"{head} = {self.term(v)}"
        if tag == "constraint":
            return f"{head}: {self.bounds(v)}"
        raise Unsupported(f"constraint {tag!r}")

    def term(self, t):
        tag, v = one(t, "term")
        if tag == "type":
            return self.ty(v)
        if tag == "constant":
            return v["expr"]
        raise Unsupported(f"term {tag!r}")

    def bounds(self, bs):
        out = []
        for b in bs:
            tag, v = one(b, "bound")
            if tag == "trait_bound":
                mod = {"none": "", "maybe": "?", "maybe_const": "[const] "}.get(v["modifier"])
                if mod is None:
                    raise Unsupported(f"bound modifier {v['modifier']!r}")
                out.append(self.for_params(v["generic_params"]) + mod + self.path(v["trait"]))
            elif tag == "outlives":
                out.append(v)
            elif tag == "use":
                args = []
                for a in v:
                    _, av = one(a, "precise capturing arg")
                    args.append(av)
                out.append(f"use<{', '.join(args)}>")
            else:
                raise Unsupported(f"bound {tag!r}")
        return " + ".join(out)

    def poly_trait(self, p):
        return self.for_params(p["generic_params"]) + self.path(p["trait"])

    def for_params(self, params):
        if not params:
            return ""
        return f"for<{', '.join(self.param(p) for p in params)}> "

    # ---------- generics ----------

    def param(self, p):
        tag, v = one(p["kind"], "generic param")
        if tag == "lifetime":
            return p["name"] + (": " + " + ".join(v["outlives"]) if v["outlives"] else "")
        if tag == "type":
            s = p["name"]
            if v["bounds"]:
                s += ": " + self.bounds(v["bounds"])
            if v.get("default") is not None:
                s += " = " + self.ty(v["default"])
            return s
        if tag == "const":
            s = f"const {p['name']}: {self.ty(v['type'])}"
            if v.get("default") is not None:
                s += " = " + v["default"]
            return s
        raise Unsupported(f"generic param {tag!r}")

    def params(self, g):
        shown = [
            p
            for p in g["params"]
            if not (isinstance(p["kind"], dict) and p["kind"].get("type", {}).get("is_synthetic"))
        ]
        return f"<{', '.join(self.param(p) for p in shown)}>" if shown else ""

    def where(self, g):
        preds = []
        for w in g["where_predicates"]:
            tag, v = one(w, "where predicate")
            if tag == "bound_predicate":
                preds.append(
                    f"{self.for_params(v['generic_params'])}{self.ty(v['type'])}: {self.bounds(v['bounds'])}"
                )
            elif tag == "lifetime_predicate":
                preds.append(f"{v['lifetime']}: {' + '.join(v['outlives'])}")
            elif tag == "eq_predicate":
                preds.append(f"{self.ty(v['lhs'])} = {self.term(v['rhs'])}")
            else:
                raise Unsupported(f"where predicate {tag!r}")
        return f" where {', '.join(preds)}" if preds else ""

    # ---------- functions ----------

    def header(self, h):
        s = ""
        if h["is_const"]:
            s += "const "
        if h["is_async"]:
            s += "async "
        if h["is_unsafe"]:
            s += "unsafe "
        tag, v = one(h["abi"], "abi")
        if tag != "Rust":
            s += f'extern "{tag}{"-unwind" if v and v.get("unwind") else ""}" '
        return s

    def inputs(self, sig, named=True):
        out = []
        for name, t in sig["inputs"]:
            if name == "self":
                out.append(self.self_param(t))
            elif named:
                out.append(f"{name}: {self.ty(t)}")
            else:
                out.append(self.ty(t))
        if sig.get("is_c_variadic"):
            out.append("...")
        return ", ".join(out)

    def self_param(self, t):
        tag, v = one(t, "self type")
        if tag == "generic" and v == "Self":
            return "self"
        if tag == "borrowed_ref" and v["type"] == {"generic": "Self"}:
            lt = v["lifetime"] + " " if v.get("lifetime") else ""
            return "&" + lt + ("mut " if v["is_mutable"] else "") + "self"
        return "self: " + self.ty(t)

    def output(self, sig):
        return f" -> {self.ty(sig['output'])}" if sig.get("output") is not None else ""

    def fn(self, name, f):
        g = f["generics"]
        return (
            f"{self.header(f['header'])}fn {name}{self.params(g)}({self.inputs(f['sig'])})"
            f"{self.output(f['sig'])}{self.where(g)}"
        )

    # ---------- items ----------

    def attrs(self, item):
        out = []
        for a in item["attrs"]:
            if a == "non_exhaustive":
                out.append("#[non_exhaustive]")
            elif isinstance(a, dict) and "repr" in a:
                out.append("#[repr(" + json.dumps(a["repr"], sort_keys=True) + ")]")
        dep = item.get("deprecation")
        if dep:
            note = ", ".join(f'{k} = "{dep[k]}"' for k in ("since", "note") if dep.get(k))
            out.append(f"#[deprecated({note})]" if note else "#[deprecated]")
        return " ".join(out) + " " if out else ""

    def public_paths(self):
        """{defining path: shortest public path} of this crate's items, for other crates."""
        self.collect_paths()
        out = {}
        for id_, paths in self.public.items():
            summary = self.paths.get(str(id_))
            if summary is not None and summary["crate_id"] == 0:
                best = min(paths, key=lambda p: (len(p), p))
                out["::".join(summary["path"])] = "::".join(best)
        return out

    def emit(self, path, kind, sig):
        self.lines.add(f"{'::'.join(path)} [{kind}] {sig}")

    def field_list(self, ids, named):
        parts = []
        for fid in ids:
            if fid is None:
                parts.append("_")
                continue
            f = self.item(fid)
            tag, t = self.kind_of(f)
            if tag != "struct_field":
                raise Unsupported(f"field kind {tag!r}")
            vis = "pub " if f["visibility"] == "public" else ""
            parts.append(f"{vis}{f['name']}: {self.ty(t)}" if named else f"{vis}{self.ty(t)}")
        return parts

    def collect_paths(self):
        """Every public path of every item of this crate, breadth first from the root."""
        self.public = {}
        self.lines = set()
        queue = [(self.root, [self.crate])]
        seen = set()
        self.exports = []  # (path, item id) of items reached
        while queue:
            mod_id, mpath = queue.pop(0)
            if (mod_id, tuple(mpath)) in seen or len(mpath) > 32:
                continue
            seen.add((mod_id, tuple(mpath)))
            self.add_public(mod_id, mpath)
            module = self.item(mod_id)
            for cid in self.kind_of(module)[1]["items"]:
                child = self.item(cid)
                if child is None or child["visibility"] != "public":
                    continue
                tag, v = self.kind_of(child)
                if tag == "use":
                    self.reexport(child, v, mpath, queue)
                elif tag == "module":
                    queue.append((cid, mpath + [child["name"]]))
                elif tag in ("impl", "primitive"):
                    continue
                else:
                    self.add_public(cid, mpath + [child["name"]])

    def add_public(self, id_, path):
        self.public.setdefault(id_, [])
        if path not in self.public[id_]:
            self.public[id_].append(path)
            self.exports.append((path, id_))

    def reexport(self, use_item, u, mpath, queue):
        target = self.item(u["id"])
        if u["is_glob"]:
            if target is not None and self.kind_of(target)[0] == "module":
                for cid in self.kind_of(target)[1]["items"]:
                    child = self.item(cid)
                    if child is None or child["visibility"] != "public":
                        continue
                    tag, v = self.kind_of(child)
                    if tag == "use":
                        self.reexport(child, v, mpath, queue)
                    elif tag == "module":
                        queue.append((cid, mpath + [child["name"]]))
                    elif tag not in ("impl", "primitive"):
                        self.add_public(cid, mpath + [child["name"]])
                return
            self.emit(mpath + ["*"], "re-export", f"pub use {u['source']}::*")
            return
        if target is not None:
            if self.kind_of(target)[0] == "module":
                queue.append((u["id"], mpath + [u["name"]]))
            else:
                self.add_public(u["id"], mpath + [u["name"]])
            return
        summary = self.paths.get(str(u["id"])) if u["id"] is not None else None
        kind = f"re-export {summary['kind']}" if summary else "re-export"
        last = u["source"].split("::")[-1]
        alias = f" as {u['name']}" if last != u["name"] else ""
        self.emit(mpath + [u["name"]], kind, f"pub use {u['source']}{alias}")

    def render(self):
        self.collect_paths()
        for path, id_ in self.exports:
            self.render_item(path, self.item(id_))
        # impls of this crate's public traits for types not listed above (e.g. `Arc<T>`)
        for path, id_ in self.exports:
            item = self.item(id_)
            tag, v = self.kind_of(item)
            if tag == "trait":
                for impl_id in v["implementations"]:
                    if impl_id not in self.impls_shown:
                        self.render_impl(path, impl_id)
        return sorted(self.lines)

    def render_item(self, path, item):
        tag, v = self.kind_of(item)
        name = path[-1]
        a = self.attrs(item)
        if tag == "module":
            self.emit(path, "mod", f"{a}pub mod {name}")
        elif tag == "struct":
            g = v["generics"]
            ktag, kv = one(v["kind"], "struct kind")
            head = f"{a}pub struct {name}{self.params(g)}"
            if ktag == "unit":
                self.emit(path, "struct", f"{head}{self.where(g)};")
            elif ktag == "tuple":
                self.emit(path, "struct", f"{head}({', '.join(self.field_list(kv, False))}){self.where(g)};")
            elif ktag == "plain":
                fields = "/* private fields */" if kv["has_stripped_fields"] else "/* all fields public */"
                self.emit(path, "struct", f"{head}{self.where(g)} {{ {fields} }}")
                for fid in kv["fields"]:
                    f = self.item(fid)
                    self.emit(
                        path + [f["name"]], "field", f"{self.attrs(f)}pub {f['name']}: {self.ty(f['inner']['struct_field'])}"
                    )
            else:
                raise Unsupported(f"struct kind {ktag!r}")
            self.render_impls(path, v["impls"])
        elif tag == "union":
            g = v["generics"]
            private = " /* private fields */" if v["has_stripped_fields"] else ""
            self.emit(path, "union", f"{a}pub union {name}{self.params(g)}{self.where(g)} {{{private} }}")
            for fid in v["fields"]:
                f = self.item(fid)
                self.emit(path + [f["name"]], "field", f"pub {f['name']}: {self.ty(f['inner']['struct_field'])}")
            self.render_impls(path, v["impls"])
        elif tag == "enum":
            g = v["generics"]
            hidden = " { /* some variants hidden */ }" if v["has_stripped_variants"] else ""
            self.emit(path, "enum", f"{a}pub enum {name}{self.params(g)}{self.where(g)}{hidden}")
            for vid in v["variants"]:
                self.render_variant(path, self.item(vid))
            self.render_impls(path, v["impls"])
        elif tag == "trait":
            g = v["generics"]
            quals = ("unsafe " if v["is_unsafe"] else "") + ("auto " if v["is_auto"] else "")
            supers = ": " + self.bounds(v["bounds"]) if v["bounds"] else ""
            dyn = "" if v["is_dyn_compatible"] else " /* not dyn-compatible */"
            self.emit(path, "trait", f"{a}pub {quals}trait {name}{self.params(g)}{supers}{self.where(g)}{dyn}")
            for iid in v["items"]:
                self.render_assoc(path, self.item(iid), "trait ")
        elif tag == "trait_alias":
            g = v["generics"]
            self.emit(path, "trait alias", f"{a}pub trait {name}{self.params(g)} = {self.bounds(v['params'])}{self.where(g)}")
        elif tag == "function":
            self.emit(path, "fn", f"{a}pub {self.fn(name, v)}")
        elif tag == "constant":
            self.emit(path, "const", f"{a}pub const {name}: {self.ty(v['type'])}")
        elif tag == "static":
            mut = "mut " if v["is_mutable"] else ""
            unsafe = "unsafe " if v.get("is_unsafe") else ""
            self.emit(path, "static", f"{a}pub {unsafe}static {mut}{name}: {self.ty(v['type'])}")
        elif tag == "type_alias":
            g = v["generics"]
            self.emit(path, "type", f"{a}pub type {name}{self.params(g)}{self.where(g)} = {self.ty(v['type'])}")
        elif tag == "macro":
            rules = " ".join(v.split())
            self.emit(path, "macro", rules)
        elif tag == "proc_macro":
            self.emit(path, f"proc macro {v['kind']}", f"{name} helpers({', '.join(v['helpers'])})")
        elif tag == "extern_crate":
            self.emit(path, "extern crate", f"pub extern crate {v['name']}")
        elif tag == "extern_type":
            self.emit(path, "extern type", f"pub type {name}")
        else:
            raise Unsupported(f"item kind {tag!r} at {'::'.join(path)}")

    def render_variant(self, path, item):
        tag, v = self.kind_of(item)
        if tag != "variant":
            raise Unsupported(f"variant kind {tag!r}")
        ktag, kv = one(v["kind"], "variant kind")
        name = item["name"]
        if ktag == "plain":
            sig = name
        elif ktag == "tuple":
            sig = f"{name}({', '.join(self.field_list(kv, False))})"
        elif ktag == "struct":
            fields = self.field_list(kv["fields"], True)
            if kv["has_stripped_fields"]:
                fields.append("/* private fields */")
            sig = f"{name} {{ {', '.join(fields)} }}"
        else:
            raise Unsupported(f"variant kind {ktag!r}")
        if v.get("discriminant"):
            sig += f" = {v['discriminant']['expr']}"
        self.emit(path + [name], "variant", self.attrs(item) + sig)

    def render_assoc(self, path, item, prefix):
        tag, v = self.kind_of(item)
        name = item["name"]
        a = self.attrs(item)
        if tag == "function":
            provided = " /* provided */" if prefix and v["has_body"] else ""
            vis = "" if prefix else "pub "
            inputs = v["sig"]["inputs"]
            kind = "method" if inputs and inputs[0][0] == "self" else "assoc fn"
            self.emit(path + [name], f"{prefix}{kind}", f"{a}{vis}{self.fn(name, v)}{provided}")
        elif tag == "assoc_const":
            default = " /* has default */" if prefix and v.get("value") is not None else ""
            vis = "" if prefix else "pub "
            kind = f"{prefix}const" if prefix else "assoc const"
            self.emit(path + [name], kind, f"{a}{vis}const {name}: {self.ty(v['type'])}{default}")
        elif tag == "assoc_type":
            g = v["generics"]
            bounds = ": " + self.bounds(v["bounds"]) if v["bounds"] else ""
            default = " = " + self.ty(v["type"]) if v.get("type") is not None else ""
            kind = f"{prefix}type" if prefix else "assoc type"
            self.emit(path + [name], kind, f"{a}type {name}{self.params(g)}{bounds}{self.where(g)}{default}")
        else:
            raise Unsupported(f"associated item kind {tag!r} at {'::'.join(path)}")

    def render_impls(self, path, impl_ids):
        for impl_id in impl_ids:
            self.render_impl(path, impl_id)

    def render_impl(self, path, impl_id):
        item = self.item(impl_id)
        if item is None:
            return
        tag, v = self.kind_of(item)
        if tag != "impl":
            raise Unsupported(f"impl kind {tag!r}")
        self.impls_shown.add(impl_id)
        if v["blanket_impl"] is not None:
            return
        g = v["generics"]
        if v["trait"] is None:
            # inherent impl: its public items are the type's methods, consts and types
            ctx = ""
            if g["params"] or g["where_predicates"]:
                ctx = f" /* in impl{self.params(g)} {self.ty(v['for'])}{self.where(g)} */"
            for iid in v["items"]:
                it = self.item(iid)
                if it is None or it["visibility"] != "public":
                    continue
                before = set(self.lines)
                self.render_assoc(path, it, "")
                if ctx:
                    for line in set(self.lines) - before:
                        self.lines.discard(line)
                        self.lines.add(line + ctx)
            return
        trait_name = self.path_of(v["trait"].get("id"), v["trait"]["path"])
        if v["is_synthetic"] and trait_name.split("::")[-1] not in STABLE_AUTO_TRAITS:
            return
        if trait_name in UNSTABLE_TRAITS:
            return
        trait = self.path(v["trait"])
        neg = "!" if v["is_negative"] else ""
        unsafe = "unsafe " if v["is_unsafe"] else ""
        assoc = []
        for iid in v["items"]:
            it = self.item(iid)
            if it is None:
                continue
            itag, iv = self.kind_of(it)
            if itag == "assoc_type" and iv.get("type") is not None:
                assoc.append(f"type {it['name']}{self.params(iv['generics'])} = {self.ty(iv['type'])};")
            elif itag == "assoc_const":
                assoc.append(f"const {it['name']}: {self.ty(iv['type'])};")
        body = f" {{ {' '.join(assoc)} }}" if assoc else ""
        self.emit(
            path,
            "impl",
            f"{unsafe}impl{self.params(g)} {neg}{trait} for {self.ty(v['for'])}{self.where(g)}{body}",
        )


def load(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    version = doc.get("format_version")
    if version not in SUPPORTED_FORMATS:
        raise SystemExit(
            f"public-api.py: {path} is rustdoc JSON format_version {version}, but this script "
            f"renders only {sorted(SUPPORTED_FORMATS)}. The toolchain changed: update "
            "scripts/public-api.py for the new format (see SUPPORTED_FORMATS) rather than trust "
            "its output."
        )
    return doc


def main(argv):
    if len(argv) < 3 or "=" in argv[1] or not all("=" in a for a in argv[2:]):
        print("usage: public-api.py OUT-DIR PACKAGE=CRATE.json...", file=sys.stderr)
        return 2
    out_dir = argv[1]
    docs = {}
    for arg in argv[2:]:
        package, path = arg.split("=", 1)
        docs[package] = (path, load(path))
    try:
        siblings = {}
        for package, (path, doc) in docs.items():
            api = Api(doc, package)
            siblings[api.crate] = api.public_paths()
        for package, (path, doc) in docs.items():
            try:
                lines = Api(doc, package, siblings).render()
            except Unsupported as e:
                raise Unsupported(f"{path}: {e}") from e
            with open(os.path.join(out_dir, package + ".txt"), "w", encoding="utf-8") as out:
                out.write(
                    f"# The public API of {package} (default features): one line per item, "
                    "`path [kind] signature`.\n"
                    "# Generated by scripts/public-api.sh from rustdoc JSON; do not edit. "
                    "See api/README.md.\n"
                )
                for line in lines:
                    out.write(re.sub(r"\s+", " ", line).strip() + "\n")
    except Unsupported as e:
        print(f"public-api.py: unsupported rustdoc JSON: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
