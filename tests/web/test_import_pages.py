"""The import preview's column mapping, chosen by hand."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from clientela.api.app import create_app
from clientela.settings import Settings
from clientela.storage.store import Store
from tests import factories
from tests.web.helpers import csrf, signed_in

CSV = "nome,apelido,email\nAna Lima,Aninha,ana.lima@example.com\n"


def test_a_column_goes_where_the_person_chooses_and_a_bad_choice_imports_nothing(
    store: Store, settings: Settings
) -> None:
    admin = factories.user(store, "admin", "root@example.com", mfa=True)
    with TestClient(create_app(settings, store)) as client:
        signed_in(client, admin, "/imports")
        preview = client.post(
            "/imports/preview",
            data={"csrf_token": csrf(client.get("/imports").text), "kind": "customers"},
            files={"file": ("clientes.csv", CSV.encode(), "text/csv")},
        ).text
        # "apelido" (nickname) matches no field: offered as not imported
        assert re.search(r'name="target_1">\s*<option value="ignore" selected', preview)
        form = {
            "csrf_token": csrf(preview),
            "token": re.search(r'name="token" value="([^"]+)"', preview).group(1),  # type: ignore[union-attr]
            "kind": "customers",
            "source": "import",
            "column_0": "nome",
            "target_0": "full_name",
            "column_1": "apelido",
            "target_1": "given_name",
            "column_2": "email",
            "target_2": "password",
        }
        refused = client.post("/imports", data=form)
        assert refused.status_code == 400 and "mapping.email" in refused.text
        with store.unit_of_work(write=False) as uow:
            assert uow.customers.count() == 0
        done = client.post("/imports", data={**form, "target_2": "email"}, follow_redirects=False)
        assert done.status_code == 303
    with store.unit_of_work(write=False) as uow:
        [person] = uow.customers.get_many(uow.customers.active_ids())
    # the nickname went to the given name, over the one the full name would give
    assert person["given_name"] == "Aninha" and person["email"] == "ana.lima@example.com"
