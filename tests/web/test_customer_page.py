"""The 360 page's quality parts and merge history, with unmerge."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from clientela.api.app import create_app
from clientela.identity.merging import merge_profiles
from clientela.settings import Settings
from clientela.storage.store import Store
from tests import factories
from tests.web.helpers import csrf, signed_in


def test_the_360_page_shows_what_the_quality_score_is_made_of(
    store: Store, settings: Settings
) -> None:
    person = factories.joana_silva(store, settings, 41)
    support = factories.user(store, "support", "ana@example.com")
    with TestClient(create_app(settings, store)) as client:
        signed_in(client, support, f"/customers/{person['id']}")
        page = client.get(f"/customers/{person['id']}").text
        for part in ("completeness", "validity", "freshness", "consistency"):
            assert re.search(rf'data-quality="{part}">\d+%<', page), part
        # the street address was never given: named as missing, by its label
        assert re.search(r'<p class="note">missing: [^<]*address', page)


def test_a_merge_is_listed_on_the_survivor_and_undone_from_the_page(
    store: Store, settings: Settings
) -> None:
    survivor = factories.joana_silva(store, settings, 42)
    other = factories.stored_customer(
        store, settings, given_name="Joana", family_name="Silva", email="jo.silva@example.com"
    )
    with store.unit_of_work() as uow:
        merge_id = merge_profiles(
            uow, survivor["id"], other["id"], reason="manual", actor=factories.actor("support")
        )
        uow.commit()
    support = factories.user(store, "support", "ana@example.com")
    analyst = factories.user(store, "analyst", "bia@example.com")
    app = create_app(settings, store)
    with TestClient(app) as client:
        signed_in(client, analyst, f"/customers/{survivor['id']}")
        shown = client.get(f"/customers/{survivor['id']}").text
        assert f'href="/customers/{other["id"]}"' in shown and "(by hand)" in shown
        assert "Unmerge" not in shown  # an analyst may not undo merges
        refused = client.post(
            f"/customers/{survivor['id']}/unmerge",
            data={"csrf_token": csrf(shown), "merge_id": merge_id},
        )
        assert refused.status_code == 403
    with TestClient(app) as client:
        signed_in(client, support, f"/customers/{survivor['id']}")
        shown = client.get(f"/customers/{survivor['id']}").text
        token = csrf(shown)
        assert "Unmerge" in shown
        elsewhere = client.post(
            f"/customers/{other['id']}/unmerge", data={"csrf_token": token, "merge_id": merge_id}
        )
        assert elsewhere.status_code == 404  # the merge is not one into that profile
        done = client.post(
            f"/customers/{survivor['id']}/unmerge",
            data={"csrf_token": token, "merge_id": merge_id},
            follow_redirects=False,
        )
        assert done.status_code == 303
        after = client.get(done.headers["location"]).text
        assert "Merge undone" in after and "— undone" in after and "Unmerge" not in after
        assert client.get(f"/customers/{other['id']}").status_code == 200  # separate again
