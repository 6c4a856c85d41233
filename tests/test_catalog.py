"""Catalogue grounding: import with per-row problems, the sqlite-vec index, measured accuracy against the
baseline, and a generate run whose plan moves toward the covers it resembles.

The catalogue is drawn by tests/images.py: dark red textured covers are metal at 160 BPM, pastel covers pop
at 112, grey-blue haze ambient at 70; the attributes follow the pictures, so a method that reads the
pictures must beat the majority / mean baseline."""
from __future__ import annotations

import csv
import json

import pytest

from tests.conftest import ROOT, run_cli
from tests.images import CATALOG_STYLES, catalog_cover, write_catalog
from tools.catalog.rows import RowError, map_genre, parse_row

pytest.importorskip("sqlite_vec", reason="needs albumgen[catalog]")


# -- rows -----------------------------------------------------------------------------------------
def test_musicoset_columns_parse_as_they_are():
    row = parse_row({"image_url": "https://i.scdn.co/image/ab67", "genres": "['album rock', 'classic rock']",
                     "tempo": "121.3", "key": "-1", "mode": "0", "energy": "0.81", "valence": "0.4",
                     "time_signature": "3"}, line=7)
    a = row.attributes
    assert (row.line, a.genre, a.source_genre, a.tempo, a.key, a.mode, a.time_signature) == \
        (7, "rock", "album rock, classic rock", 121.3, None, 0, "3/4")
    assert map_genre(["Jazz"]) == ("jazz", None)


@pytest.mark.parametrize(("record", "message"), [
    ({"cover": "a.png", "genre": "metal", "tempo": "fast"}, "tempo 'fast' is not a number: give BPM"),
    ({"cover": "a.png", "genre": "metal", "tempo": "900"}, "tempo 900 is out of range"),
    ({"cover": "a.png", "genre": "polka-step", "tempo": "120"}, "is not one AlbumGen knows"),
    ({"cover": "a.png", "genre": "pop", "tempo": "120", "key": "13"}, "key '13' is not a pitch class"),
    ({"cover": "", "genre": "pop", "tempo": "120"}, "no cover"),
    ({"cover": "a.png", "genre": "pop", "tempo": "120", "energy": "1.7"}, "energy 1.7 is out of range"),
])
def test_bad_values_name_the_field_and_the_fix(record, message):
    with pytest.raises(RowError, match=message.replace("(", r"\(")):
        parse_row(record, 3)


# -- import ---------------------------------------------------------------------------------------
def _home(tmp_path):
    return {"ALBUMGEN_HOME": str(tmp_path / "home")}


def test_import_skips_bad_rows_with_their_line_and_keeps_the_rest(tmp_path):
    covers = tmp_path / "covers"
    covers.mkdir()
    for k, style in enumerate(("metal", "pop", "ambient")):
        catalog_cover(style, k).save(covers / f"{style}.png")
    (covers / "broken.png").write_bytes(b"not a picture")
    rows = [["cover", "genre", "tempo", "mode"],
            ["covers/metal.png", "metal", "160", "0"],            # line 2
            ["covers/pop.png", "pop", "112", "1"],                # line 3
            ["covers/broken.png", "rock", "120", "1"],            # line 4: unreadable cover
            ["covers/ambient.png", "ambient", "fast", "1"],       # line 5: tempo "fast"
            ["covers/pop.png", "pop", "115", "1"],                # line 6: the same image as line 3
            ["covers/ambient.png", "ambient"],                    # line 7: a missing column
            ["covers/ambient.png", "ambient", "70", "1"]]         # line 8
    with open(tmp_path / "cat.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    proc = run_cli("catalog", "import", str(tmp_path / "cat.csv"), "--name", "mine", env=_home(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "3 added, 0 updated, 4 skipped" in proc.stdout
    problems = [line for line in proc.stderr.splitlines() if line.startswith("warning: line")]
    assert [p.split(":")[1].strip() for p in problems] == ["line 4", "line 5", "line 6", "line 7"]
    assert "broken.png" in problems[0] and "tempo 'fast' is not a number" in problems[1]
    assert "duplicate of line 3" in problems[2] and "missing value for tempo" in problems[3]
    assert "column energy is absent" in proc.stderr  # the optional columns the file lacks are warned once

    again = run_cli("catalog", "import", str(tmp_path / "cat.csv"), "--name", "mine", "--json", env=_home(tmp_path))
    report = json.loads(again.stdout)
    assert (report["added"], report["updated"], report["skipped"]) == (0, 3, 4)  # idempotent: same images → updated
    listed = json.loads(run_cli("catalog", "list", "--json", env=_home(tmp_path)).stdout)
    assert [(c["name"], c["covers"], c["embedder"]) for c in listed] == [("mine", 3, "efficientnet-lite0")]


def test_nothing_importable_exits_2_and_a_bad_file_says_why(tmp_path):
    (tmp_path / "none.csv").write_text("cover,genre,tempo\nmissing.png,metal,160\nother.png,pop,slow\n")
    proc = run_cli("catalog", "import", str(tmp_path / "none.csv"), "--name", "empty", env=_home(tmp_path))
    assert proc.returncode == 2
    assert "line 2:" in proc.stderr and "line 3: tempo 'slow'" in proc.stderr
    assert "nothing from" in proc.stderr
    (tmp_path / "nocover.csv").write_text("image,genre,tempo\na.png,metal,160\n")
    proc = run_cli("catalog", "import", str(tmp_path / "nocover.csv"), "--name", "x", env=_home(tmp_path))
    assert proc.returncode == 2 and "no cover column" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("catalog", "show", "nosuch", env=_home(tmp_path))
    assert proc.returncode == 2 and "no catalogue named 'nosuch'" in proc.stderr


# -- the index ------------------------------------------------------------------------------------
def test_search_is_nearest_first_and_upsert_replaces(tmp_path):
    import numpy as np

    from tools.catalog.index import CatalogIndex
    from tools.catalog.rows import Attributes

    index = CatalogIndex(tmp_path / "c.db")
    index.ensure("t", "synthetic", 4, "test")
    basis = np.eye(4, dtype=np.float32)
    for i, genre in enumerate(("rock", "jazz", "pop", "metal")):
        index.upsert("t", f"h{i}", f"{genre}.png", Attributes(genre=genre, tempo=100 + i), basis[i], [])
    query = np.array([0.1, 0.9, 0.3, 0.0], dtype=np.float32)
    hits = index.search("t", query / np.linalg.norm(query), k=3)
    assert [h.attributes.genre for h in hits] == ["jazz", "pop", "rock"]
    assert hits[0].similarity > hits[1].similarity > hits[2].similarity
    assert index.upsert("t", "h1", "jazz2.png", Attributes(genre="blues", tempo=90), basis[1], []) == "updated"
    assert index.info("t")["covers"] == 4 and index.search("t", basis[1], 1)[0].attributes.genre == "blues"
    with pytest.raises(Exception, match="embedded with synthetic, not clip"):
        index.ensure("t", "clip:x", 512, "test")


# -- accuracy and the plan ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    """24 drawn covers imported and trained as catalogue `demo` in their own ALBUMGEN_HOME."""
    folder = tmp_path_factory.mktemp("drawn")
    env = {"ALBUMGEN_HOME": str(folder / "home")}
    source = write_catalog(folder, per_style=8)
    proc = run_cli("catalog", "import", str(source), "--name", "demo", env=env)
    assert proc.returncode == 0 and "24 added" in proc.stdout, proc.stderr
    proc = run_cli("catalog", "train", "demo", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    return folder, env, json.loads(proc.stdout)


@pytest.mark.slow
def test_eval_beats_the_majority_baseline(drawn):
    _folder, env, trained = drawn
    assert trained["covers"] == 24 and set(trained["scores"]) >= {"genre", "tempo", "mode"}
    proc = run_cli("catalog", "eval", "demo", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["genre_top1"] > result["baseline_genre_top1"] + 0.3
    assert result["tempo_mae"] < result["baseline_tempo_mae"] / 2
    assert set(result["methods"]) >= {"retrieval k=1", "retrieval k=5", "retrieval k=10", "trained predictor",
                                      "evidence prior", "baseline (majority / mean)"}
    # a cover unlike every catalogue cover: the regressors keep to what the catalogue holds
    import numpy as np

    from tools.catalog.index import CatalogIndex
    from tools.catalog.predict import Predictor

    index = CatalogIndex(_folder / "home" / "catalog.db")
    far = np.random.default_rng(0).standard_normal(index.info("demo")["dim"]).astype(np.float32) * 50
    got = {p.field: p.value for p in Predictor.load(index, "demo").predict(far)}
    assert 68 <= got["tempo"] <= 162 and 0.2 <= got["energy"] <= 0.92 and 0.18 <= got["valence"] <= 0.85
    text = run_cli("catalog", "eval", "demo", env=env).stdout
    assert "| retrieval k=5" in text and "| baseline (majority / mean)" in text and "**(best)**" in text


@pytest.mark.slow
def test_generate_with_the_catalogue_shows_neighbours_and_moves_the_plan(drawn, tmp_path):
    folder, env, _ = drawn
    plans = {}
    for style in ("metal", "ambient"):
        cover = tmp_path / f"new-{style}.png"
        catalog_cover(style, 999).save(cover)  # a seed the catalogue does not hold
        for catalog in ("demo", "none"):
            out = tmp_path / f"{style}-{catalog}"
            proc = run_cli("generate", str(cover), "-o", str(out), "--catalog", catalog, "--duration", "2",
                           "--seed", "3", "--json", env=env)
            assert proc.returncode == 0, proc.stderr
            result = json.loads(proc.stdout)
            plans[style, catalog] = (result["spec"], json.loads(open(result["trace"]).read()), result)
    for style in ("metal", "ambient"):
        spec, trace, result = plans[style, "demo"]
        neighbours = trace["catalog"]["neighbours"]
        assert len(neighbours) == 5 and all(n["name"].startswith(style) for n in neighbours)
        assert all(0 < n["similarity"] <= 1 for n in neighbours)
        assert neighbours == sorted(neighbours, key=lambda n: -n["similarity"])
        ids = trace["catalog"]["evidence"]
        kinds = {e["id"]: e["kind"] for e in trace["evidence"]}
        assert {kinds[i] for i in ids} == {"neighbour", "predicted"}
        assert spec["genre"] == style
        cited = " ".join(trace["rationales"].values())
        assert any(i in cited for i in ids)  # the decisions cite the neighbours
        md = open(result["trace"].replace("trace.json", "trace.md")).read()
        assert neighbours[0]["name"] in md and "catalog.png" in md
        assert (folder / "covers" / neighbours[0]["name"]).exists()
        assert plans[style, "none"][1].get("catalog") in (None, {})
    # toward the neighbours: the metal cover's tempo moves toward 160, the ambient one's toward 70
    target = {s: CATALOG_STYLES[s]["tempo"] for s in ("metal", "ambient")}
    for style in ("metal", "ambient"):
        with_cat, without = plans[style, "demo"][0]["tempo_bpm"], plans[style, "none"][0]["tempo_bpm"]
        assert abs(with_cat - target[style]) <= abs(without - target[style])
    assert plans["metal", "demo"][0]["tempo_bpm"] > plans["ambient", "demo"][0]["tempo_bpm"] + 40
    assert plans["metal", "demo"][0]["valence"] < plans["ambient", "demo"][0]["valence"]


def test_generate_names_an_unknown_catalogue(tmp_path):
    proc = run_cli("generate", str(ROOT / "covers" / "midnight-orbit.png"), "-o", str(tmp_path / "o"),
                   "--catalog", "nosuch", env=_home(tmp_path))
    assert proc.returncode == 2 and "no catalogue named 'nosuch'" in proc.stderr
    assert "albumgen catalog import" in proc.stderr


@pytest.fixture(scope="module")
def tiny_clip_dir(tmp_path_factory):
    """A random CLIPModel built from a small config with save_pretrained: the same loading code as
    openai/clip-vit-base-patch16 by hub id."""
    pytest.importorskip("transformers")
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    folder = tmp_path_factory.mktemp("tiny-clip")
    small = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2}
    config = CLIPConfig(text_config={**small, "vocab_size": 64, "max_position_embeddings": 16},
                        vision_config={**small, "image_size": 32, "patch_size": 8}, projection_dim=8)
    CLIPModel(config).save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


def test_a_clip_embedder_builds_and_searches_its_own_catalogue(tmp_path, tiny_clip_dir):
    source = write_catalog(tmp_path / "cat", per_style=2)
    env = _home(tmp_path)
    proc = run_cli("catalog", "import", str(source), "--name", "clipped", "--embedder", f"clip:{tiny_clip_dir}",
                   "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["added"] == 6
    info = json.loads(run_cli("catalog", "show", "clipped", "--json", env=env).stdout)
    assert info["embedder"] == f"clip:{tiny_clip_dir}" and info["dim"] == 8  # the projection, not EfficientNet's 1280
    from tools.catalog.index import CatalogIndex
    from tools.catalog.lookup import Catalog

    catalog = Catalog("clipped", k=3, index=CatalogIndex(tmp_path / "home" / "catalog.db"))
    neighbours, _ = catalog.find(catalog_cover("metal", 0 * 31 + len("metal")))  # metal-000.png itself
    assert neighbours[0].name == "metal-000.png" and neighbours[0].similarity == pytest.approx(1.0, abs=1e-4)
    proc = run_cli("catalog", "import", str(source), "--name", "clipped", env=env)  # the default embedder
    assert proc.returncode == 2 and "was embedded with clip:" in proc.stderr
