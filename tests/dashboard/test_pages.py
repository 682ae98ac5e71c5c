"""Every dashboard page and form through TestClient (sampler mocked where a fit runs)."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from service import sessions
from service.dashboard.auth import SESSION_COOKIE
from service.errors import Invalid
from service.tables import DashboardSession, now
from tests.dashboard.conftest import ADMIN_TOKEN, login, post_login
from tests.service.test_fits import run_worker
from tests.utils import example_rows

GOOD_CSV = "params,data,loss,group,run\n" + "".join(
    f"{r['params']},{r['data']},{r['loss']},{r['group']},r{i}\n"
    for i, r in enumerate(example_rows())
)


def make_dataset(c, csrf, name="runs", csv=GOOD_CSV):
    r = c.post("/datasets", data={"name": name, "csrf": csrf})
    assert r.status_code == 303 and r.headers["location"] == f"/datasets/{name}", r.text
    if csv is not None:
        r = upload(c, csrf, name, csv)
        assert r.status_code == 303, r.text


def upload(c, csrf, name, csv, **roles):
    """Choose the file, then confirm the mapping page (its guesses; ``roles``: column=field)."""
    files = {"csv_file": ("runs.csv", csv.encode(), "text/csv")}
    first = c.post(f"/datasets/{name}/upload", data={"csrf": csrf}, files=files)
    if first.status_code != 200:
        return first
    return c.post(f"/datasets/{name}/upload/mapped", data=mapping_form(first.text, csrf, **roles))


def guessed_roles(page: str) -> dict[str, str]:
    """Column -> the field preselected for it on the mapping page."""
    out = {}
    for i, column in re.findall(r'name="column_(\d+)" value="([^"]*)"', page):
        chosen = re.search(rf'<select name="as_{i}".*?<option value="(\w+)" selected>', page, re.S)
        assert chosen is not None, column
        out[html.unescape(column)] = chosen.group(1)
    return out


def mapping_form(page: str, csrf: str, **roles: str) -> dict[str, str]:
    """The mapping page's form as a browser submits it, with ``roles`` changed."""
    text = re.search(r'<textarea name="csv_text" hidden>(.*?)</textarea>', page, re.S)
    assert text is not None, page
    form = {"csrf": csrf, "csv_text": html.unescape(text.group(1))}
    for i, (column, role) in enumerate(guessed_roles(page).items()):
        form[f"column_{i}"], form[f"as_{i}"] = column, roles.get(column, role)
    return form


def queue_fit(c, csrf, **fields):
    form = {
        "dataset": "runs",
        "family": "chinchilla",
        "draws": "50",
        "tune": "10",
        "chains": "2",
        "csrf": csrf,
    } | fields
    return c.post("/fits", data=form)


def cells(html: str, table_id: str) -> list[list[str]]:
    """The text of each body row of the table with ``table_id``."""
    body = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body.split("<tbody>", 1)[1], re.S)
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in rows
    ]


class TestLogin:
    def test_pages_need_a_session(self, client):
        """Without the cookie every page sends the visitor to the login form."""
        for path in ("/", "/datasets/runs", "/fits/new", "/fits/" + "0" * 32):
            r = client.get(path)
            assert r.status_code == 303 and r.headers["location"] == "/login", path
        assert client.get("/login").status_code == 200

    def test_login_sets_a_strict_httponly_cookie(self, client, keys):
        """The session id lives in an HttpOnly, SameSite=Strict cookie; no Secure flag over http."""
        r = post_login(client, keys.admin)
        assert r.status_code == 303
        cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
        page = client.get("/")
        assert page.status_code == 200 and "Project alpha" in page.text and "admin key" in page.text

    def test_cookie_is_secure_over_https(self, app, keys):
        """Over https the session cookie is never sent back over plain http."""
        from fastapi.testclient import TestClient

        with TestClient(app, base_url="https://testserver", follow_redirects=False) as c:
            r = post_login(c, keys.read)
        assert r.status_code == 303
        cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
        assert "Secure" in cookie

    def test_bad_key_is_refused(self, client, keys):
        """An unknown or malformed key gets the form back with a 401, and no cookie."""
        for key in ("bsk_000000000000_nope", "garbage", "", keys.admin + "x"):
            r = post_login(client, key)
            assert r.status_code == 401 and "unknown or revoked API key" in r.text
            assert not any(c.startswith(SESSION_COOKIE) for c in r.headers.get_list("set-cookie"))
        assert client.get("/").status_code == 303

    def test_logout_ends_the_session(self, client, keys):
        """Logging out clears the cookie; the pages ask for a login again."""
        csrf = login(client, keys.write)
        r = client.post("/logout", data={"csrf": csrf})
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert client.get("/").status_code == 303

    def test_revoked_key_ends_its_sessions(self, client, keys):
        """The cookie is checked like a header key on every request: revoking it logs out."""
        r = client.post(
            "/v1/projects/alpha/keys", json={"role": "write"}, headers=keys.headers("admin")
        )
        secret, prefix = r.json()["key"], r.json()["prefix"]
        login(client, secret)
        client.delete(f"/v1/projects/alpha/keys/{prefix}", headers=keys.headers("admin"))
        assert client.get("/").status_code == 303


class TestServerSessions:
    """The cookie holds a random session id; the key never leaves the login form (item 15)."""

    def test_cookie_holds_a_random_id_not_the_key(self, app, client, keys):
        r = post_login(client, keys.write)
        cookie = client.cookies[SESSION_COOKIE]
        assert keys.write not in cookie and keys.write.split("_")[1] not in cookie
        assert len(cookie) == 43  # secrets.token_urlsafe(32)
        assert all(keys.write not in c for c in r.headers.get_list("set-cookie"))
        with app.state.sessions() as db:
            (row,) = db.scalars(select(DashboardSession)).all()
        assert row.digest == hashlib.sha256(cookie.encode()).hexdigest() != cookie

    def test_a_session_expires(self, client, keys, settings, monkeypatch):
        login(client, keys.read)
        assert client.get("/").status_code == 200
        later = now() + timedelta(seconds=settings.session_ttl_s + 1)
        monkeypatch.setattr(sessions, "now", lambda: later)
        assert client.get("/").status_code == 303

    def test_logout_deletes_the_session_so_a_copied_cookie_is_dead(self, app, client, keys):
        csrf = login(client, keys.write)
        stolen = client.cookies[SESSION_COOKIE]
        assert client.post("/logout", data={"csrf": csrf}).status_code == 303
        with app.state.sessions() as db:
            assert db.scalars(select(DashboardSession)).all() == []
        client.cookies.set(SESSION_COOKIE, stolen)
        assert client.get("/").status_code == 303

    def test_revoking_the_key_deletes_its_sessions_only(self, app, as_role, keys):
        reader, _ = as_role("read")
        writer, _ = as_role("write")
        r = reader.delete(f"/v1/projects/alpha/keys/{keys.read.split('_')[1]}")
        assert r.status_code == 401  # the cookie is no API credential
        admin_api = {"Authorization": f"Bearer {keys.admin}"}
        assert (
            writer.delete(
                f"/v1/projects/alpha/keys/{keys.read.split('_')[1]}", headers=admin_api
            ).status_code
            == 200
        )
        assert reader.get("/").status_code == 303
        assert writer.get("/").status_code == 200
        with app.state.sessions() as db:
            assert len(db.scalars(select(DashboardSession)).all()) == 1


class TestLoginCsrf:
    """Another site must not log the victim into the attacker's key (item 14)."""

    def test_cross_site_login_is_refused(self, client, keys):
        for origin in ("https://evil.example", "http://testserver.evil.example"):
            r = post_login(client, keys.write, origin=origin)
            assert r.status_code == 403 and "another site" in r.text, origin
        r = post_login(client, keys.write, referer="https://evil.example/page")
        assert r.status_code == 403
        assert SESSION_COOKIE not in client.cookies
        assert post_login(client, keys.write, origin="http://testserver").status_code == 303

    def test_login_without_the_forms_token_is_refused(self, client, keys):
        """A forged form (no pre-session cookie, or a guessed token) logs nobody in."""
        assert client.post("/login", data={"key": keys.write}).status_code == 403
        client.get("/login")
        for token in ("", "x" * 43):
            r = client.post("/login", data={"key": keys.write, "login_token": token})
            assert r.status_code == 403 and "token" in r.text
        assert SESSION_COOKIE not in client.cookies


SECURITY_HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


class TestSecurityHeaders:
    def test_every_kind_of_response_carries_them(self, client, keys):
        csrf = login(client, keys.write)
        responses = [
            client.get("/"),  # HTML page
            client.get("/login"),
            client.get("/static/dashboard.css"),
            client.get("/fits/" + "0" * 32),  # HTML error
            client.post("/datasets", data={"name": "x"}),  # 403 page
            client.get("/v1/families"),  # JSON
            client.get("/v1/projects/alpha/datasets"),  # JSON 401
            client.get("/nowhere"),  # problem+json 404
            client.get("/openapi.json"),
            client.post("/logout", data={"csrf": csrf}),  # redirect
        ]
        for r in responses:
            for name, value in SECURITY_HEADERS.items():
                assert r.headers.get(name) == value, (r.url, name)
            csp = r.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "script-src 'self';" in csp, r.url
            assert "unsafe-inline" not in csp

    def test_dashboard_pages_need_no_inline_script(self, client, keys, settings):
        """The policy allows only same-origin scripts: no page may carry an inline one."""
        login(client, keys.write)
        client.post(
            "/v1/projects/alpha/datasets", json={"name": "runs"}, headers=keys.headers("write")
        )
        for path in ("/", "/login", "/datasets/runs", "/fits/new"):
            assert not re.search(r"<script(?![^>]*\bsrc=)", client.get(path).text), path
        assert client.get("/static/fit_progress.js").status_code == 200

    def test_docs_allow_exactly_their_inline_script(self, client):
        r = client.get("/docs")
        csp = r.headers["content-security-policy"]
        (inline,) = re.findall(r"<script>(.*?)</script>", r.text, re.S)
        digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp and "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("style-src")[0]
        assert r.headers["x-frame-options"] == "DENY"


class TestCsrf:
    def test_post_without_or_with_a_wrong_token_is_refused(self, client, keys):
        """A cross-site form post carries the cookie but cannot know the token: 403, no write."""
        csrf = login(client, keys.write)
        for data in ({"name": "x"}, {"name": "x", "csrf": "0" * 64}, {"name": "x", "csrf": ""}):
            r = client.post("/datasets", data=data)
            assert r.status_code == 403 and "CSRF" in r.text, data
        assert client.post("/logout", data={}).status_code == 403
        r = client.get("/v1/projects/alpha/datasets", headers=keys.headers("read"))
        assert r.json()["count"] == 0
        assert client.post("/datasets", data={"name": "x", "csrf": csrf}).status_code == 303

    def test_token_is_per_login(self, as_role):
        """Another session's token (even of the same key) does not pass."""
        first, token = as_role("write")
        _, other_token = as_role("write")
        assert token != other_token
        assert first.post("/datasets", data={"name": "x", "csrf": other_token}).status_code == 403


class TestRoles:
    def test_read_key_cannot_write(self, as_role):
        """Read keys see the data but get a 403 page for upload, new dataset and fit."""
        writer, wcsrf = as_role("write")
        make_dataset(writer, wcsrf)
        reader, csrf = as_role("read")
        page = reader.get("/datasets/runs")
        assert page.status_code == 200 and "Upload CSV" not in page.text
        r = reader.post("/datasets", data={"name": "mine", "csrf": csrf})
        assert r.status_code == 403 and "cannot do this (needs write)" in r.text
        assert upload(reader, csrf, "runs", GOOD_CSV).status_code == 403
        assert queue_fit(reader, csrf).status_code == 403
        assert "Upload CSV" in writer.get("/datasets/runs").text

    def test_keys_are_listed_for_admins_only(self, as_role, keys):
        admin, _ = as_role("admin")
        writer, _ = as_role("write")
        prefix = keys.read.split("_")[1]
        assert prefix in admin.get("/").text
        assert "API keys" not in writer.get("/").text and prefix not in writer.get("/").text


class TestDatasets:
    def test_upload_and_page_through(self, as_role, settings):
        """An upload is stored and shown 50 rows a page, oldest first, with a next link."""
        c, csrf = as_role("write")
        rows = "params,loss\n" + "".join(f"{1e6 * (i + 1)},{3 - i / 100}\n" for i in range(60))
        make_dataset(c, csrf, "sweep", rows)
        first = c.get("/datasets/sweep")
        assert 'Observations <span class="muted">(60)</span>' in first.text
        page_one = cells(first.text, "observations")
        assert len(page_one) == 50 and [r[1] for r in page_one[:2]] == ["1e+06", "2e+06"]
        link = re.search(r'href="/datasets/sweep\?after=(\d+)"', first.text)
        assert link is not None and link.group(1) == page_one[-1][0]
        second = c.get(f"/datasets/sweep?after={link.group(1)}")
        assert second.status_code == 200 and "Next page" not in second.text
        page_two = cells(second.text, "observations")
        assert [r[1] for r in page_two] == [f"{1e6 * i:.4g}" for i in range(51, 61)]

    def test_upload_errors_are_shown_per_row_and_field(self, as_role):
        """A bad file re-renders the page (422) naming each bad row and field; nothing stored."""
        c, csrf = as_role("write")
        make_dataset(c, csrf, "runs", csv=None)
        bad = "params,loss\n1e6,2.5\n2e6,-1\n3e6,abc\n"
        r = upload(c, csrf, "runs", bad)
        assert r.status_code == 422
        errors = cells(r.text.replace('class="errors"', 'id="errors" class="errors"'), "errors")
        assert [e[:2] for e in errors] == [["1", "loss"], ["2", "loss"]]
        assert "nothing was stored" in r.text and 'id="mapping"' in r.text
        r = c.post("/datasets/runs/upload", data={"csrf": csrf})  # no file chosen
        assert r.status_code == 422 and "<code>csv_file</code>" in r.text
        r = upload(c, csrf, "runs", "params,size\n1e6,3\n")
        assert r.status_code == 422 and "no &#39;loss&#39; column" in r.text

    def test_the_examples_architecture_column_becomes_the_group(self, as_role, keys, tmp_path):
        """`bayescale example` writes `architecture`: guessed as the group, shown, stored as it."""
        from cli.main import main

        assert main(["example", str(tmp_path / "runs.csv")]) == 0
        csv = (tmp_path / "runs.csv").read_text()
        c, csrf = as_role("write")
        make_dataset(c, csrf, "runs", csv=None)
        files = {"csv_file": ("runs.csv", csv.encode(), "text/csv")}
        first = c.post("/datasets/runs/upload", data={"csrf": csrf}, files=files)
        assert first.status_code == 200
        api = keys.headers("read")
        assert c.get("/v1/projects/alpha/datasets/runs", headers=api).json()["observations"] == 0
        assert guessed_roles(first.text) == {
            "params": "params", "data": "data", "loss": "loss", "architecture": "group"
        }  # fmt: skip
        r = c.post("/datasets/runs/upload/mapped", data=mapping_form(first.text, csrf))
        assert r.status_code == 303
        shown = c.get(r.headers["location"])
        assert "<code>architecture</code> → group" in shown.text
        stored = c.get("/v1/projects/alpha/datasets/runs/observations?limit=1000", headers=api)
        stored = stored.json()
        assert {row["group"] for row in stored["data"]} == {
            "mamba", "rwkv", "transformer", "transformer-moe"
        }  # fmt: skip
        assert all(row["meta"] == {} for row in stored["data"])

    def test_a_tab_separated_file_is_guessed_and_stored(self, as_role, keys):
        c, csrf = as_role("write")
        make_dataset(c, csrf, "runs", csv=None)
        csv = "params\tdata\tloss\tarchitecture\n1e8\t2e9\t3.1\ta\n2e8\t4e9\t2.9\tb\n"
        files = {"csv_file": ("runs.tsv", csv.encode(), "text/csv")}
        first = c.post("/datasets/runs/upload", data={"csrf": csrf}, files=files)
        assert first.status_code == 200
        assert guessed_roles(first.text) == {
            "params": "params", "data": "data", "loss": "loss", "architecture": "group"
        }  # fmt: skip
        r = c.post("/datasets/runs/upload/mapped", data=mapping_form(first.text, csrf))
        assert r.status_code == 303, r.text
        stored = c.get(
            "/v1/projects/alpha/datasets/runs/observations", headers=keys.headers("read")
        )
        assert [(row["group"], row["loss"]) for row in stored.json()["data"]] == [
            ("a", 3.1), ("b", 2.9)
        ]  # fmt: skip

    def test_the_user_overrides_a_guess_and_bad_mappings_are_refused(self, as_role, keys):
        c, csrf = as_role("write")
        make_dataset(c, csrf, "runs", csv=None)
        csv = "n,tokens,final,arch,group\n1e6,2e7,3.1,a,x\n2e6,4e7,2.9,b,x\n"
        r = upload(c, csrf, "runs", csv, n="params", final="loss", final_="meta")
        assert r.status_code == 303, r.text
        r = upload(c, csrf, "runs", csv, n="params", tokens="loss", final="loss")
        assert r.status_code == 422 and "several columns are loss (tokens, final)" in r.text
        assert 'id="mapping"' in r.text  # the mapping page again, the file still in it
        r = upload(c, csrf, "runs", csv, n="params")
        assert r.status_code == 422 and "no &#39;loss&#39; column" in r.text
        url = "/v1/projects/alpha/datasets/runs/observations"
        rows = c.get(url, headers=keys.headers("read")).json()["data"]
        assert len(rows) == 2 and rows[0]["params"] == 1e6 and rows[0]["loss"] == 3.1
        assert rows[0]["group"] == "x" and rows[0]["meta"] == {"tokens": "2e7", "arch": "a"}

    def test_bad_dataset_name_names_the_field(self, as_role):
        c, csrf = as_role("write")
        r = c.post("/datasets", data={"name": "-bad name", "csrf": csrf})
        assert r.status_code == 422 and "<code>name</code>" in r.text

    def test_another_projects_data_is_not_found(self, as_role, other, app):
        """Alpha's session sees nothing of beta: its datasets and fits are 404 pages."""
        from fastapi.testclient import TestClient

        with TestClient(app, follow_redirects=False) as beta:
            bcsrf = login(beta, other.write)
            beta.post("/datasets", data={"name": "secret", "csrf": bcsrf})
        c, csrf = as_role("admin")
        r = c.get("/datasets/secret")
        assert r.status_code == 404 and "no dataset &#39;secret&#39;" in r.text
        assert upload(c, csrf, "secret", GOOD_CSV).status_code == 404
        assert c.get("/fits/" + "0" * 32).status_code == 404


class TestFits:
    def test_fit_form_defaults(self, as_role):
        """The form offers every family and the API's sampler defaults."""
        c, csrf = as_role("write")
        make_dataset(c, csrf)
        r = c.get("/fits/new?dataset=runs")
        assert r.status_code == 200
        for family in ("chinchilla", "power_law", "scale_time"):
            assert f'<option value="{family}"' in r.text
        assert (
            'name="draws" value="1000"' in r.text and 'name="target_accept" value="0.95"' in r.text
        )
        assert 'name="max_draws" value="4000"' in r.text
        assert '<option value="runs" selected>' in r.text
        assert "<option selected>auto</option>" in r.text  # centring
        assert "<option selected>true</option>" in r.text  # non_centred_rerun

    def test_fit_form_sends_the_centring_choices(self):
        from service.dashboard.forms import fit_request

        form = {"dataset": "runs", "centring": "non_centred", "non_centred_rerun": "false"}
        sampler = fit_request(form).sampler
        assert sampler.centring == "non_centred" and sampler.non_centred_rerun is False
        with pytest.raises(Invalid) as info:
            fit_request({"dataset": "runs", "centring": "centred"})
        assert info.value.field == "sampler.centring"

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"family": "nope"}, "unknown family"),
            ({"draws": "abc"}, "sampler.draws"),
            ({"draws": "999999"}, "exceeds the server limit"),
            ({"pooling": "alpha=wat"}, "pooling"),
            ({"priors": "{not json"}, "priors are not valid JSON"),
            ({"dataset": "missing"}, "no dataset"),
        ],
    )
    def test_fit_form_errors_name_the_field(self, as_role, fields, message):
        """The form comes back with the values and the API's message; no fit is queued."""
        c, csrf = as_role("write")
        make_dataset(c, csrf)
        r = queue_fit(c, csrf, **fields)
        assert r.status_code in (404, 422) and message in r.text.replace("&#39;", "'"), r.text
        assert "No fits yet" in c.get("/").text

    def test_fit_lifecycle(self, as_role, client, mock_sampler):
        """Queue → live status → succeeded page with diagnostics, parameters, predict, plan."""
        c, csrf = as_role("write")
        make_dataset(c, csrf)
        r = queue_fit(c, csrf, name="nightly", tags="a, b")
        assert r.status_code == 303
        fit_id = r.headers["location"].removeprefix("/fits/")
        queued = c.get(f"/fits/{fit_id}")
        assert queued.status_code == 200 and "status-queued" in queued.text
        assert "<progress" in queued.text and f'data-fit="{fit_id}"' in queued.text
        assert '"/fits/" + fitId + "/status"' in client.get("/static/fit_progress.js").text
        assert c.get(f"/fits/{fit_id}/status").json() == {"status": "queued", "progress": 0.0}
        assert run_worker(client) == fit_id
        assert c.get(f"/fits/{fit_id}/status").json() == {"status": "succeeded", "progress": 1.0}
        done = c.get(f"/fits/{fit_id}")
        assert "status-succeeded" in done.text and "<progress" not in done.text
        diagnostics = cells(done.text, "diagnostics")
        assert [row[0] for row in diagnostics][:3] == [
            "R-hat (max)",
            "ESS bulk (min)",
            "ESS tail (min)",
        ]
        for row in diagnostics:  # the verdict agrees with the value and the threshold shown
            assert row[3] in ("✓ pass", "✗ fail", "n/a")
        assert f'src="/fits/{fit_id}/plots/fit.png"' in done.text
        image = c.get(f"/fits/{fit_id}/plots/fit.png")
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        assert image.content.startswith(b"\x89PNG")
        assert c.get(f"/fits/{fit_id}/plots/nope.png").status_code == 422
        assert client.get(f"/fits/{fit_id}/plots/fit.png").status_code == 303  # no session
        params = cells(done.text, "parameters")
        assert {row[0] for row in params} >= {"E", "A", "alpha", "beta"}
        assert {row[1] for row in params} >= {"transformer", "mamba"}

        r = c.post(
            f"/fits/{fit_id}/predict",
            data={
                "points": "params=7e9, data=1.4e11\nparams=1e8, data=2e9",
                "group": "mamba",
                "probs": "0.9",
                "csrf": csrf,
            },
        )
        assert r.status_code == 200, r.text
        rows = cells(r.text, "prediction")
        assert len(rows) == 2 and rows[0][-1] == "extrapolation"
        lo, hi = (float(v) for v in rows[0][3].split(" – "))
        assert lo < float(rows[0][1]) < hi

        r = c.post(
            f"/fits/{fit_id}/plan",
            data={"budgets": "1e21 5.76e23", "group": "transformer", "csrf": csrf},
        )
        assert r.status_code == 200, r.text
        plan = cells(r.text, "plan-table")
        assert [row[0] for row in plan] == ["1e+21", "5.76e+23"]
        r = c.post(
            f"/fits/{fit_id}/plan",
            data={"target": "3.5", "q": "0.5", "group": "transformer", "csrf": csrf},
        )
        assert r.status_code == 200 and 'id="plan-target"' in r.text, re.findall(
            r'role="alert">(.*?)</div>', r.text, re.S
        )

    def test_predict_and_plan_errors(self, as_role, client, mock_sampler):
        c, csrf = as_role("write")
        make_dataset(c, csrf)
        fit_id = queue_fit(c, csrf).headers["location"].removeprefix("/fits/")
        r = c.post(f"/fits/{fit_id}/predict", data={"points": "params=1e9", "csrf": csrf})
        assert r.status_code == 409 and "succeeded fit" in r.text  # still queued
        run_worker(client)
        r = c.post(f"/fits/{fit_id}/predict", data={"points": "params=abc", "csrf": csrf})
        assert r.status_code == 422 and "is not a number" in r.text
        r = c.post(f"/fits/{fit_id}/predict", data={"points": "params=1e9", "csrf": csrf})
        assert r.status_code == 422 and "data" in r.text
        r = c.post(f"/fits/{fit_id}/plan", data={"budgets": "-1", "csrf": csrf})
        assert r.status_code == 422 and "budgets.0" in r.text
        reader, rcsrf = as_role("read")
        r = reader.post(
            f"/fits/{fit_id}/predict", data={"points": "params=1e9, data=2e10", "csrf": rcsrf}
        )
        assert r.status_code == 200 and 'id="prediction"' in r.text


class TestNewProject:
    def test_create_project_with_the_admin_token(self, client):
        """The key is shown once on a 201 page, and logs in to the new project."""
        assert "Admin token" in client.get("/projects/new").text
        r = client.post("/projects/new", data={"name": "vision", "admin_token": ADMIN_TOKEN})
        assert r.status_code == 201
        key = re.search(r'id="new-key">(bsk_[^<]+)<', r.text).group(1)
        login(client, key)
        assert "Project vision" in client.get("/").text

    @pytest.mark.parametrize(
        ("name", "token", "status", "message"),
        [
            ("vision", "wrong", 401, "wrong admin token"),
            ("vision", "", 401, "wrong admin token"),
            ("-bad", ADMIN_TOKEN, 422, "name"),
            ("alpha", ADMIN_TOKEN, 409, "project &#39;alpha&#39; exists"),
        ],
    )
    def test_refusals(self, client, keys, name, token, status, message):
        r = client.post("/projects/new", data={"name": name, "admin_token": token})
        assert r.status_code == status and message in r.text

    def test_disabled_without_a_token(self, app, settings, keys):
        """Without BAYESCALE_ADMIN_TOKEN the page says how to enable it, and creates nothing."""
        settings.admin_token = None
        from fastapi.testclient import TestClient

        with TestClient(app, follow_redirects=False) as c:
            page = c.get("/projects/new")
            assert (
                "BAYESCALE_ADMIN_TOKEN" in page.text
                and "<form" not in page.text.split("<main>")[1].split("</section>")[0]
            )
            r = c.post("/projects/new", data={"name": "vision", "admin_token": "anything"})
        assert r.status_code == 403 and "BAYESCALE_ADMIN_TOKEN" in r.text


def test_pages_are_not_in_the_openapi_schema(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if not p.startswith(("/v1/", "/health", "/ready"))]


def test_stylesheet(client):
    r = client.get("/static/dashboard.css")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/css")


def test_writes_commit_before_the_response_is_sent():
    """A browser follows a redirect at once: the session must commit before the 303 goes out.

    (FastAPI's default scope for a dependency with yield ends after the response is sent; the
    live-server browser test saw the new dataset's page answer 404.)
    """
    from service.dashboard import datasets, fits, pages
    from service.dashboard.auth import db_session

    def scopes(dependant):
        for sub in dependant.dependencies:
            if sub.call is db_session:
                yield sub.scope
            yield from scopes(sub)

    routes = [r for module in (pages, datasets, fits) for r in module.router.routes]
    found = [scope for r in routes for scope in scopes(r.dependant)]
    assert len(routes) > 10 and found and set(found) == {"function"}
