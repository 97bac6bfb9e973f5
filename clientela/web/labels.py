"""Words the pages show that come from data or from other layers: field names, stored states and
kinds, error titles and the domain's messages. They are marked here with ``N_`` so the catalogue
holds them; a page translates them when it shows them (filters ``field_label``, ``term``, ``t``).

The domain and the services keep speaking English (the API's problem documents and the CLI say
the same words); ``MESSAGES`` lists the ones a page shows often enough to be worth translating
(a test checks each still exists in the package). A message not listed shows in English.
"""

from __future__ import annotations

from clientela.web.i18n import N_

__all__ = ["FIELD_LABELS", "MESSAGES", "TERMS"]

#: a profile field (or a segment builder field) -> its label
FIELD_LABELS: dict[str, str] = {
    "given_name": N_("given name"),
    "middle_name": N_("middle name"),
    "family_name": N_("family name"),
    "full_name": N_("full name"),
    "email": N_("e-mail"),
    "phone": N_("phone"),
    "document": N_("document (CPF)"),
    "birth_date": N_("birth date"),
    "gender": N_("gender"),
    "address_line1": N_("address"),
    "address_line2": N_("address, line 2"),
    "city": N_("city"),
    "region": N_("region"),
    "postal_code": N_("postal code"),
    "country": N_("country"),
    "locale": N_("language"),
    "occupation": N_("occupation"),
    "education": N_("education"),
    "income_band": N_("income band"),
    "marital_status": N_("marital status"),
    "household_size": N_("household size"),
    "preferred_channel": N_("preferred channel"),
    "first_seen_at": N_("first seen"),
    "last_seen_at": N_("last seen"),
    "event_count": N_("events"),
    "interests": N_("interests"),
    "values": N_("values"),
    "lifestyle": N_("lifestyle"),
    "order_count": N_("orders"),
    "total_revenue": N_("total spent"),
    "total_revenue_minor": N_("total spent (cents)"),
    "first_order_at": N_("first order"),
    "last_order_at": N_("last order"),
    "preferred_payment_method": N_("preferred payment method"),
    "quality_score": N_("quality score"),
    "created_at": N_("created"),
    "identity:user_id": N_("user id (identity)"),
    "identity:anonymous_id": N_("anonymous id (identity)"),
    "identity.email": N_("has an e-mail"),
    "identity.phone": N_("has a phone"),
    "score.rfm_segment": N_("RFM group"),
    "score.rfm_r": N_("RFM recency score"),
    "score.rfm_f": N_("RFM frequency score"),
    "score.rfm_m": N_("RFM monetary score"),
    "score.rfm_recency_days": N_("days since the last order"),
    "score.rfm_frequency": N_("number of orders (RFM)"),
    "score.rfm_monetary_minor": N_("spent in cents (RFM)"),
    "score.clv_value": N_("lifetime value"),
    "score.clv_probability_alive": N_("probability still a customer"),
    "score.clv_expected_purchases": N_("expected purchases"),
    "score.churn_score": N_("churn risk"),
}

#: a stored state, kind or code -> the words for it
TERMS: dict[str, str] = {
    # privacy requests
    "received": N_("received"),
    "verifying": N_("verifying"),
    "in_progress": N_("in progress"),
    "extended": N_("extended"),
    "completed": N_("completed"),
    "denied": N_("denied"),
    "confirmation": N_("confirmation"),
    "access": N_("access"),
    "portability": N_("portability"),
    "rectification": N_("rectification"),
    "erasure": N_("erasure"),
    "restriction": N_("restriction"),
    "objection": N_("objection"),
    "opt_out": N_("opt-out"),
    "sharing_info": N_("who the data is shared with"),
    # quality (clientela.domain.quality)
    "completeness": N_("completeness"),
    "validity": N_("validity"),
    "freshness": N_("freshness"),
    "consistency": N_("consistency"),
    "uniqueness": N_("uniqueness"),
    "missing": N_("missing"),
    "invalid": N_("invalid"),
    "stale": N_("out of date"),
    "inconsistent": N_("inconsistent"),
    # merges (clientela.identity.merging.MERGE_REASONS)
    "identity": N_("same identity"),
    "alias": N_("alias"),
    "probabilistic": N_("likely duplicate"),
    "manual": N_("by hand"),
    # timeline entries
    "event": N_("event"),
    "order": N_("order"),
    # whom a breach is told to (clientela.domain.deadlines)
    "supervisory authority": N_("supervisory authority"),
    "data subjects, when the risk to them is high": N_(
        "data subjects, when the risk to them is high"
    ),
    "data subjects": N_("data subjects"),
    "Roskomnadzor: the incident, its presumed causes and harm": N_(
        "Roskomnadzor: the incident, its presumed causes and harm"
    ),
    "Roskomnadzor: results of the internal investigation": N_(
        "Roskomnadzor: results of the internal investigation"
    ),
    "California residents": N_("California residents"),
    # imports
    "running": N_("running"),
    "failed": N_("failed"),
    "customers": N_("customers"),
    "transactions": N_("orders"),
    "events": N_("events"),
    # consent
    "grant": N_("grant"),
    "deny": N_("deny"),
    "withdraw": N_("withdraw"),
    "opt_in": N_("opt-in"),
    "notice_only": N_("notice only"),
    "consent": N_("consent"),
    "contract": N_("contract"),
    "legal_obligation": N_("legal obligation"),
    "vital_interests": N_("vital interests"),
    "public_task": N_("public task"),
    "legitimate_interest": N_("legitimate interest"),
    "exercise_of_rights": N_("exercise of rights"),
    "credit_protection": N_("credit protection"),
    "health_protection": N_("health protection"),
    "research": N_("research"),
    # the five kinds of data
    "personal": N_("personal"),
    "demographic": N_("demographic"),
    "behavioural": N_("behavioural"),
    "psychographic": N_("psychographic"),
    "transactional": N_("transactional"),
    # identities
    "email": N_("e-mail"),
    "phone": N_("phone"),
    "document": N_("document"),
    "user_id": N_("user id"),
    "anonymous_id": N_("anonymous id"),
    # roles
    "admin": N_("admin"),
    "analyst": N_("analyst"),
    "support": N_("support"),
    "marketer": N_("marketer"),
    "dpo": N_("DPO"),
    "integration": N_("integration"),
    # RFM groups
    "Champions": N_("Champions"),
    "Loyal": N_("Loyal"),
    "Potential Loyalist": N_("Potential Loyalist"),
    "New": N_("New"),
    "Promising": N_("Promising"),
    "Need Attention": N_("Need Attention"),
    "About to Sleep": N_("About to Sleep"),
    "At Risk": N_("At Risk"),
    "Can't Lose": N_("Can't Lose"),
    "Hibernating": N_("Hibernating"),
    "Lost": N_("Lost"),
    # analyses (clientela.analytics.runs.ANALYSES)
    "RFM groups": N_("RFM groups"),
    "lifetime value": N_("lifetime value"),
    "churn risk": N_("churn risk"),
    "next best products": N_("next best products"),
    "cohort retention": N_("cohort retention"),
    # error titles (clientela.domain.errors)
    "Bad request": N_("Bad request"),
    "Authentication required": N_("Authentication required"),
    "Not allowed": N_("Not allowed"),
    "Not found": N_("Not found"),
    "Merged into another customer": N_("Merged into another customer"),
    "Conflict": N_("Conflict"),
    "Payload too large": N_("Payload too large"),
    "Invalid input": N_("Invalid input"),
    "Store not ready": N_("Store not ready"),
}

#: texts of the domain and the services that pages show (refusals of a form, mostly)
MESSAGES: tuple[str, ...] = (
    # clientela.domain.values
    N_("not a valid e-mail address"),
    N_("not a valid e-mail address: it must have exactly one @"),
    N_("not a valid e-mail address: the domain part is not valid"),
    N_("not a valid e-mail address: the part before the @ is not valid"),
    N_("not a valid e-mail address: it is too long"),
    N_("not a phone number"),
    N_("not a possible phone number (wrong length)"),
    N_("not a valid phone number for its country"),
    N_("a name cannot contain digits or symbols"),
    N_("a name must contain letters"),
    N_("not a date (expected YYYY-MM-DD)"),
    N_("a birth date cannot be in the future"),
    N_("not an ISO 3166-1 alpha-2 country code (such as BR)"),
    N_("a CPF has only digits, dots and a hyphen"),
    N_("a CPF has 11 digits"),
    N_("not a valid CPF (check digits do not match)"),
    # clientela.customers.service
    N_("Some fields are invalid."),
    N_("The customer changed since you read it; read it again and retry."),
    N_("An identity in this change already belongs to another customer."),
    N_("No customer has this id."),
    N_("Type something to search for."),
    N_("The search text is too long."),
    # clientela.identity.merging
    N_("No such merge."),
    # clientela.ingest.mapping
    N_("The mapping has unknown targets."),
    N_("is not a field, attributes.<key>, identity:<kind> or ignore"),
    # clientela.security
    N_("Wrong e-mail or password."),
    N_("Too many failed sign-ins: try again later."),
    N_("Too many failed sign-ins: wait a moment before trying again."),
    N_("The session expired: sign in again."),
    N_("The code is not valid."),
    N_("The new password is not acceptable."),
    N_("is the current password"),
    N_("is one of the most common passwords: choose another"),
    N_("A user with this e-mail exists."),
    N_("No user with this e-mail."),
)
