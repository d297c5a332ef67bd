"""numpydoc's docstring validation on every public name of relulib.

``numpydoc.validate.validate`` checks a docstring against the numpydoc standard and
returns error codes. The codes below are enforced; a new public name whose docstring
breaks one of them fails here, before the Sphinx build of the API appendix.

Enforced on every public function, class and method (``ENFORCED``):

* GL08 -- no docstring: every public name is documented;
* GL06, GL07 -- unknown section, or sections out of the standard order (a misspelt or
  misplaced section is silently dropped from the rendered page);
* SS01 -- no summary line;
* PR01, PR02 -- a parameter missing from "Parameters", or documented but not in the
  signature (the two ways a parameter list goes stale after a rename);
* PR03 -- parameters documented in another order than the signature;
* PR04, PR10 -- a parameter without a type, or a malformed ``name : type`` line
  (both break the rendering);
* RT01 -- no "Returns" section for a function that returns something (``-> None``
  and properties excepted).

For dataclasses (the result records) the fields are the constructor's parameters and
are documented in an "Attributes" section: PR01/PR02/PR03 are replaced there by the
check that every field is listed under "Attributes".

The main entry points (``ENTRY_POINTS``) must also have "See Also" (SA01) and a
"References" section naming the paper(s) with their arXiv identifiers.

Not enforced, with the reason: PR07/RT03 (a description for every parameter and
return: many are self-explanatory from name and type, e.g. ``rng``), ES01 (an
extended summary: one-line helpers need none), EX01 (examples: the chapters are the
worked examples; the doctests that exist run in tests/test_package.py), SA01 outside
the entry points, SS05 (the summary's verb form, a matter of style), PR09 (a final
period in a parameter description).
"""

import dataclasses
import inspect

import pytest

import relulib as rl

numpydoc_validate = pytest.importorskip("numpydoc.validate")  # a book tool: not in tools/test_floors.sh
from numpydoc.docscrape import NumpyDocString  # noqa: E402

ENFORCED = {"GL08", "GL06", "GL07", "SS01", "PR01", "PR02", "PR03", "PR04", "PR10", "RT01"}
FIELD_CODES = {"PR01", "PR02", "PR03"}  # replaced by the Attributes check for dataclasses

ENTRY_POINTS = {
    "recover_exact": ["arXiv:1811.01885"],
    "recover_noisy": ["arXiv:1811.01885"],
    "recover_with_bias": ["arXiv:2107.10209"],
    "recover_fpt": ["arXiv:1811.01885", "arXiv:2009.13512"],
    "moment_estimate": ["arXiv:2107.10209"],
    "tensor_stage": ["arXiv:2107.10209"],
    "projected_moments": ["arXiv:2107.10209"],
    "jennrich": ["arXiv:2107.10209"],
    "filtered_pca": ["arXiv:2009.13512"],
    "fit_adam": ["arXiv:1412.6980"],
}


def _targets():
    """Import paths of every public function, class, and public method/property of a class."""
    for name in rl.__all__:
        obj = getattr(rl, name)
        if not (callable(obj) or inspect.isclass(obj)):
            continue  # constants are documented in book/api.md
        yield f"relulib.{name}", obj
        if inspect.isclass(obj) and not issubclass(obj, BaseException):
            for attr, member in vars(obj).items():
                if attr.startswith("_"):
                    continue
                if isinstance(member, property) or inspect.isfunction(member):
                    yield f"relulib.{name}.{attr}", member


TARGETS = list(_targets())


def _errors(path, obj):
    result = numpydoc_validate.validate(path)
    codes = {code: msg for code, msg in result["errors"]}
    if isinstance(obj, property):
        codes.pop("RT01", None)  # a property's type is in its summary
    if inspect.isfunction(obj) and inspect.signature(obj).return_annotation in (None, "None"):
        codes.pop("RT01", None)
    errors = {code: msg for code, msg in codes.items() if code in ENFORCED}
    if inspect.isclass(obj) and dataclasses.is_dataclass(obj):
        for code in FIELD_CODES:
            errors.pop(code, None)
        documented = {name.strip() for item in NumpyDocString(inspect.getdoc(obj))["Attributes"]
                      for name in item.name.split(",")}
        fields = {f.name for f in dataclasses.fields(obj)}
        if fields - documented:
            errors["ATTR"] = f"fields not under Attributes: {sorted(fields - documented)}"
    return errors


def test_the_walk_reaches_the_api():
    assert len(TARGETS) > 100  # 125 today: functions, classes, methods, properties
    assert len(numpydoc_validate.ERROR_MSGS) > 30 and ENFORCED <= set(numpydoc_validate.ERROR_MSGS)


@pytest.mark.parametrize("path, obj", TARGETS, ids=[path for path, _ in TARGETS])
def test_docstring_is_valid_numpydoc(path, obj):
    errors = _errors(path, obj)
    assert not errors, f"{path}: " + "; ".join(f"{code} {msg}" for code, msg in errors.items())


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_entry_points_have_see_also_and_references(name):
    doc = NumpyDocString(inspect.getdoc(getattr(rl, name)))
    assert doc["See Also"], f"{name}: no See Also section"
    references = "\n".join(doc["References"])
    for arxiv in ENTRY_POINTS[name]:
        assert arxiv in references, f"{name}: References do not cite {arxiv}"


def test_the_validation_can_fail():
    def bad(x, y):
        """Do something.

        Parameters
        ----------
        x : int
            A number.
        z : int
            Not a parameter.
        """
        return x

    bad.__module__ = __name__
    globals()["bad"] = bad
    try:
        codes = {code for code, _ in numpydoc_validate.validate(f"{__name__}.bad")["errors"]}
    finally:
        del globals()["bad"]
    assert {"PR01", "PR02", "RT01"} <= codes
