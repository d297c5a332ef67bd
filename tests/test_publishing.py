"""Publishing: the deploy workflow, the launch links, Binder, and relulib as a package.

* The workflows in .github/workflows pass actionlint (with shellcheck over their
  `run:` scripts) and run the README's own commands, tests first.
* The repository's URL is written once, in _config.yml; the chapters' install cell,
  the package metadata and the README follow it, and on the built HTML every chapter
  has Binder and Colab launch links and source/issue/edit buttons pointing at it.
* `python -m build` makes a wheel and an sdist holding the library only, `twine check`
  passes, and the wheel installed into a fresh virtual environment runs the README's
  library example.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
import tomllib
import venv
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")  # a book tool: absent from tools/test_floors.sh
yaml = pytest.importorskip("yaml")  # a book tool: absent from tools/test_floors.sh

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
README = (ROOT / "README.md").read_text()
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
REPO_URL = CONFIG["repository"]["url"]
SITE_URL = CONFIG["html"]["baseurl"]

# The first cell of every chapter: on Colab (or anywhere relulib is missing) it installs
# the library from the repository. {url} is _config.yml's repository.url.
INSTALL_CELL = """\
# On Colab or any fresh environment: install the book's library if it is missing.
try:
    import relulib
except ImportError:
    %pip install --quiet "relulib @ git+{url}\""""


def _chapter_notebooks() -> list[str]:
    """The notebooks of _toc.yml, as paths relative to the repository (book/x.ipynb)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part.get("chapters", [])]
    return [f"{f}.ipynb" for f in files if (ROOT / f"{f}.ipynb").exists()]


CHAPTERS = _chapter_notebooks()


def _readme_bash_commands() -> list[str]:
    """The commands of the README's bash blocks, each `a && b` split into a and b."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README, flags=re.S):
        for line in block.splitlines():
            line = line.split(" #", 1)[0].strip()
            commands += [part.strip() for part in line.split("&&") if part.strip()]
    return commands


def _readme_library_example() -> str:
    """The ```python block of the README's section "## The library"."""
    section = README.split("\n## The library\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the README's library section has one python example"
    return blocks[0]


def _workflow(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def _run_lines(job: dict) -> list[str]:
    """Every line of every `run:` script of a job, in order."""
    return [line.strip() for step in job["steps"] for line in step.get("run", "").splitlines()]


def _uses(job: dict) -> list[str]:
    return [step["uses"].split("@")[0] for step in job["steps"] if "uses" in step]


# --- the workflow -------------------------------------------------------------------


def test_workflows_pass_actionlint(tmp_path):
    """actionlint (and shellcheck over the `run:` scripts) finds nothing in the workflows."""
    actionlint = shutil.which("actionlint")
    assert actionlint, "actionlint is missing: python3 -m pip install -r requirements.txt"
    assert shutil.which("shellcheck"), "shellcheck is missing: python3 -m pip install -r requirements.txt"
    assert WORKFLOWS, "no workflow in .github/workflows"

    # The linter is live: it rejects a broken workflow and a shell mistake in a step.
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
                      "      - run: cp $SOURCE ${{ github.evnt.name }}\n")
    found = subprocess.run([actionlint, "-no-color", str(broken)], capture_output=True, text=True)
    assert found.returncode == 1 and "SC2086" in found.stdout and "evnt" in found.stdout, found.stdout

    result = subprocess.run([actionlint, "-no-color", *map(str, WORKFLOWS)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflow_tests_then_builds_and_deploys_both_editions():
    """On main and v* tags: the README's test command, then its two book builds, then Pages."""
    path = ROOT / ".github" / "workflows" / "book.yml"
    wf = _workflow(path)
    assert wf["on"]["push"]["branches"] == ["main"]
    assert wf["on"]["push"]["tags"] == ["v*"]
    assert wf["concurrency"]["group"]

    readme = _readme_bash_commands()
    test_command = next(c for c in readme if re.match(r"(python3? -m )?pytest\b", c))
    book_command = next(c for c in readme if c.startswith("jupyter-book build") and "--config" not in c)
    student_command = next(c for c in readme if c.startswith("jupyter-book build") and "_config_student" in c)

    build = wf["jobs"]["build"]
    lines = _run_lines(build)
    for command in (test_command, book_command, student_command):
        assert command in lines, f"the workflow's build job does not run the README's `{command}`"
    order = [lines.index(command) for command in (test_command, book_command, student_command)]
    assert order == sorted(order), "the tests run before the builds"

    # The site: the full book at the root, the student edition (wherever the README's
    # command writes it) under student/.
    student_output = re.search(r"--path-output\s+(\S+)", student_command).group(1)
    assert "cp -r _build/html _site" in lines
    assert f"cp -r {student_output}/_build/html _site/student" in lines
    upload = next(s for s in build["steps"] if s.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == "_site"

    deploy = wf["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert _uses(deploy) == ["actions/deploy-pages"]

    # A tag also builds the wheel and the sdist and attaches them to its release.
    assert "python3 -m build --outdir dist ." in lines
    release = wf["jobs"]["release"]
    assert release["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert release["permissions"] == {"contents": "write"}
    assert _uses(release) == ["actions/download-artifact", "softprops/action-gh-release"]

    # Every action is pinned to a major version.
    for job in wf["jobs"].values():
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), step["uses"]


def test_workflow_installs_the_lock_with_binders_python():
    """CI installs requirements.lock with the Python it was resolved for, as Binder does."""
    build = _workflow(ROOT / ".github" / "workflows" / "book.yml")["jobs"]["build"]
    assert "python3 -m pip install -r requirements.lock" in _run_lines(build)
    setup = next(s for s in build["steps"] if s.get("uses", "").startswith("actions/setup-python@"))
    python = setup["with"]["python-version"]
    resolved_for = re.search(r"with Python (\d+\.\d+)\.", (ROOT / "requirements.lock").read_text())
    assert resolved_for and resolved_for.group(1) == python, "re-run tools/lock.sh with that Python"
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == f"python-{python}"


def _requirement_pins(text: str):
    """{normalised name: version} of the ``name==version`` lines of a requirements file."""
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[re.sub(r"[-_.]+", "-", name.strip().lower())] = version.strip()
    return pins


def test_lock_pins_every_top_level_requirement():
    """requirements.lock was resolved from today's requirements.txt (else re-run tools/lock.sh)."""
    top = _requirement_pins((ROOT / "requirements.txt").read_text())
    lock_text = (ROOT / "requirements.lock").read_text()
    lock = _requirement_pins(lock_text)
    assert len(lock) > len(top)
    stale = {name: (version, lock.get(name)) for name, version in top.items() if lock.get(name) != version}
    assert not stale, f"requirements.lock disagrees with requirements.txt (wanted, locked): {stale}"
    assert "-e ." in lock_text.splitlines()


# --- one repository URL -------------------------------------------------------------


def test_repository_url_is_configured_once_and_followed():
    """_config.yml's repository section is what the buttons, README and metadata use."""
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", REPO_URL)
    assert CONFIG["repository"]["branch"] == "main"
    html = CONFIG["html"]
    assert html["use_repository_button"] and html["use_issues_button"] and html["use_edit_page_button"]
    launch = CONFIG["launch_buttons"]
    assert launch["binderhub_url"] == "https://mybinder.org"
    assert launch["colab_url"] == "https://colab.research.google.com"

    student = yaml.safe_load((ROOT / "_config_student.yml").read_text())
    assert student["repository"] == CONFIG["repository"]
    # The student edition launches nothing: the full notebooks hold the solutions
    # (tests/test_student_edition.py checks its other differences).
    assert "binderhub_url" not in student["launch_buttons"]
    assert "colab_url" not in student["launch_buttons"]
    assert student["html"]["baseurl"] == SITE_URL

    urls = PYPROJECT["project"]["urls"]
    assert urls["Source"] == REPO_URL
    assert urls["Issues"] == f"{REPO_URL}/issues"
    assert urls["Homepage"] == SITE_URL

    read_online = next(line for line in README.splitlines() if line.startswith("**Read it online:**"))
    assert SITE_URL in read_online and f"{SITE_URL}student/" in read_online


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_starts_with_the_install_cell(chapter):
    """The first code cell installs relulib from _config.yml's repository when it is missing."""
    nb = nbformat.read(ROOT / chapter, as_version=4)
    first = next(cell for cell in nb.cells if cell.cell_type == "code")
    assert first.source == INSTALL_CELL.format(url=REPO_URL), (
        f"{chapter}: the first code cell must be exactly\n{INSTALL_CELL.format(url=REPO_URL)}"
    )
    assert "hide-cell" in first.metadata.get("tags", []), f"{chapter}: tag the install cell hide-cell"


def test_binder_installs_the_top_level_requirements():
    """binder/ (which repo2docker reads instead of the root) points at requirements.txt."""
    lines = [line.strip() for line in (ROOT / "binder" / "requirements.txt").read_text().splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    assert lines == ["-r ../requirements.txt"]
    # pip resolves a nested -r relative to the file that names it.
    assert (ROOT / "binder" / "../requirements.txt").resolve() == ROOT / "requirements.txt"
    assert "-e ." in (ROOT / "requirements.txt").read_text().splitlines()
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.\d+", runtime)
    from packaging.specifiers import SpecifierSet

    assert runtime.removeprefix("python-") in SpecifierSet(PYPROJECT["project"]["requires-python"])


# --- the built HTML ------------------------------------------------------------------


class _Links(HTMLParser):
    """The href of every <a> of a page."""

    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a" and dict(attrs).get("href"):
            self.hrefs.append(dict(attrs)["href"])


def _hrefs(page: Path) -> list[str]:
    parser = _Links()
    parser.feed(page.read_text())
    return parser.hrefs


@pytest.mark.slow
def test_every_chapter_has_launch_links_to_the_repository(built_book_html):
    """Binder, Colab, source, issue and edit links of every chapter name the configured repository."""
    org, repo = REPO_URL.removeprefix("https://github.com/").split("/")
    branch = CONFIG["repository"]["branch"]
    book_path = CONFIG["repository"]["path_to_book"].strip("/")
    launch = CONFIG["launch_buttons"]
    interface = {"classic": "tree", "jupyterlab": "lab/tree"}[launch["notebook_interface"]]
    notebooks = [c for c in CHAPTERS if c.startswith("book/")]
    assert len(notebooks) >= 9, notebooks

    for chapter in notebooks:
        in_repo = f"{book_path}/{chapter}" if book_path else chapter
        page = built_book_html / Path(chapter).with_suffix(".html")
        hrefs = _hrefs(page)
        expected = {
            "Binder": f"{launch['binderhub_url']}/v2/gh/{org}/{repo}/{branch}?urlpath={interface}/{in_repo}",
            "Colab": f"{launch['colab_url']}/github/{org}/{repo}/blob/{branch}/{in_repo}",
            "source": REPO_URL,
            "edit": f"{REPO_URL}/edit/{branch}/{in_repo}",
        }
        for what, url in expected.items():
            assert url in hrefs, f"{page.name}: no {what} link {url}; links: {hrefs}"
        assert any(h.startswith(f"{REPO_URL}/issues/new?") for h in hrefs), f"{page.name}: no issue link"

        # The Thebe ("Live Code") configuration names the same repository and branch.
        text = page.read_text()
        assert f'repo: "{org}/{repo}"' in text and f'ref: "{branch}"' in text, page.name

    # No page still names the defaults of Jupyter Book or sphinx-thebe.
    for page in built_book_html.rglob("*.html"):
        text = page.read_text()
        for stray in ("binder-examples/jupyter-stacks-datascience", "executablebooks/jupyter-book"):
            assert stray not in text, f"{page.relative_to(built_book_html)} names {stray}"


# --- relulib as a package -------------------------------------------------------------


def _source_version() -> str:
    tree = ast.parse((ROOT / "relulib" / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__version__" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("relulib/__init__.py assigns no __version__")


def test_version_has_one_source():
    """pyproject.toml reads the version from relulib.__version__; the CHANGELOG has a place for it."""
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "relulib.__version__"}
    version = _source_version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## [{version}]" in changelog or "## [Unreleased]" in changelog


def test_every_runtime_import_is_declared():
    """Each third-party module imported by relulib is a declared dependency. The modules of
    an optional extra ([project.optional-dependencies] other than `test`: dask) are imported
    only inside functions, so that `import relulib` works without them."""

    def package(dep):
        return re.split(r"[<>=!~ \[;]", dep)[0].lower()

    declared = {package(dep) for dep in PYPROJECT["project"]["dependencies"]}
    extras = PYPROJECT["project"]["optional-dependencies"]
    optional = {package(dep) for extra, deps in extras.items() if extra != "test" for dep in deps}
    assert "dask" in optional
    top_level, in_functions = set(), set()
    for module in (ROOT / "relulib").glob("*.py"):
        tree = ast.parse(module.read_text())
        inside = {id(node) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                  for node in ast.walk(f)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = {node.module.split(".")[0]}
            else:
                continue
            (in_functions if id(node) in inside else top_level).update(names)

    def third_party(names):
        return {name for name in names if name not in sys.stdlib_module_names and name != "relulib"}

    assert third_party(top_level), "relulib imports numpy at least"
    assert third_party(top_level) <= declared, f"undeclared runtime imports: {third_party(top_level) - declared}"
    lazy = third_party(in_functions)
    assert lazy <= declared | optional, f"undeclared runtime imports: {lazy - declared - optional}"


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """The sdist and the wheel, built as a release builds them (wheel from the sdist)."""
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return out


def _archive_names(dist: Path) -> tuple[list[str], list[str]]:
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    with zipfile.ZipFile(wheel) as zf:
        wheel_names = zf.namelist()
    with tarfile.open(sdist) as tf:  # files only, without the leading relulib-X.Y.Z/
        sdist_names = [m.name.split("/", 1)[1] for m in tf.getmembers() if m.isfile()]
    return wheel_names, sdist_names


@pytest.mark.slow
def test_wheel_and_sdist_hold_the_library_only(dist):
    version = _source_version()
    wheel_names, sdist_names = _archive_names(dist)
    modules = {f"relulib/{p.name}" for p in (ROOT / "relulib").glob("*.py")} | {"relulib/py.typed"}

    library = {n for n in wheel_names if n.startswith("relulib/")}
    metadata = {n for n in wheel_names if n.startswith(f"relulib-{version}.dist-info/")}
    assert library == modules
    assert set(wheel_names) == library | metadata
    assert f"relulib-{version}.dist-info/licenses/LICENSE" in metadata

    allowed = {"PKG-INFO", "pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md", "MANIFEST.in", "setup.cfg"}
    files = set(sdist_names)
    extra = {n for n in files if n not in allowed and n not in modules and not n.startswith("relulib.egg-info/")}
    assert not extra, f"the sdist holds more than the library: {sorted(extra)}"
    assert modules <= files
    for folder in ("book/", "tests/", "benchmarks/"):
        assert not any(n.startswith(folder) for n in wheel_names + sdist_names), folder


@pytest.mark.slow
def test_twine_check_passes(dist):
    result = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *map(str, sorted(dist.iterdir()))],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def _pins() -> list[str]:
    """name==version lines of requirements.lock (no editable or option lines)."""
    lines = (ROOT / "requirements.lock").read_text().splitlines()
    return [line for line in lines if re.match(r"^[A-Za-z0-9][\w.-]*==", line)]


@pytest.mark.slow
def test_wheel_in_a_fresh_venv_runs_the_readme_example(dist, tmp_path):
    """pip installs the wheel and its declared dependencies (nothing else) into a new venv,
    where the README's library example recovers its network and __version__ is the metadata's."""
    (wheel,) = dist.glob("*.whl")
    env_dir = tmp_path / "venv"
    # No pip inside the venv (ensurepip costs a minute on a busy machine): this
    # interpreter's pip installs into it with --python.
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    # The lock's versions as constraints: pip installs only what the wheel declares
    # (a missing dependency still fails the import), at the versions of the book's
    # environment, which the local pip cache usually holds.
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("\n".join(_pins()) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    install = subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet",
                              "--no-compile", "--disable-pip-version-check", "-c", constraints, str(wheel)],
                             capture_output=True, text=True, env=env, timeout=600)
    assert install.returncode == 0, install.stdout + install.stderr

    example = tmp_path / "example.py"
    example.write_text(_readme_library_example())
    run = subprocess.run([python, example], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    error = float(run.stdout.split()[-1])
    assert error < 1e-8, run.stdout

    probe = textwrap.dedent("""
        import importlib.metadata, json, relulib
        print(json.dumps([relulib.__file__, relulib.__version__, importlib.metadata.version("relulib")]))
    """)
    run = subprocess.run([python, "-c", probe], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    location, version, metadata_version = json.loads(run.stdout)
    assert Path(location).is_relative_to(env_dir), location  # the installed wheel, not the checkout
    assert version == metadata_version == _source_version()
