"""Entry point: `streamlit run app.py`. Sets up the page, the sidebar and the navigation.

Streamlit runs this file as the ``__main__`` module, and a worker process (a refit's, a long PDF's) imports
the main module again before it starts; the guard at the end keeps the app from running inside a worker.
"""

import streamlit as st

import dashboard
from strategy.errors import CatalogError, PermissionDenied, StrategyError


def main() -> None:
    st.set_page_config(page_title="Data-sourcing strategy", page_icon=":material/balance:", layout="wide")

    pages = {
        "Decide": [
            st.Page("app_pages/portfolio.py", title="Portfolio", icon=":material/dashboard:", default=True),
            st.Page("app_pages/task.py", title="Task", icon=":material/target:", url_path="task"),
        ],
        "Evidence": [
            st.Page("app_pages/log_outcomes.py", title="Log outcomes", icon=":material/add_chart:", url_path="log"),
            st.Page("app_pages/import_runs.py", title="Import runs", icon=":material/cloud_download:", url_path="import"),
            st.Page("app_pages/outcomes.py", title="Outcomes", icon=":material/science:", url_path="outcomes"),
            st.Page("app_pages/data_quality.py", title="Data quality", icon=":material/compare:", url_path="quality"),
            st.Page("app_pages/model_card.py", title="Model card", icon=":material/fact_check:", url_path="model"),
        ],
        "Catalog": [
            st.Page("app_pages/tasks.py", title="Tasks", icon=":material/edit_note:", url_path="tasks"),
            st.Page("app_pages/profiles.py", title="Task profiles", icon=":material/tune:", url_path="profiles"),
            st.Page("app_pages/datasets.py", title="Datasets", icon=":material/database:", url_path="datasets"),
            st.Page("app_pages/costs.py", title="Cost assumptions", icon=":material/payments:", url_path="costs"),
            st.Page("app_pages/rulebook.py", title="Rulebook", icon=":material/gavel:", url_path="rulebook"),
            st.Page("app_pages/audit.py", title="Audit log", icon=":material/history:", url_path="audit"),
        ],
        "Share": [
            st.Page("app_pages/export.py", title="Export", icon=":material/download:", url_path="export"),
        ],
    }
    # Sign-in comes first: configured but broken stops the app (no local admin mode), and nobody sees a page, the
    # navigation or the catalog until they are signed in with a role.
    access = dashboard.sign_in()
    try:
        person = dashboard.identity()
    except StrategyError as error:  # e.g. an unknown $STRATEGY_ROLE in local mode
        access, person = dashboard.SignIn(True, problem=str(error)), None
    admitted = person is not None and access.problem is None
    # Expanded: with more than a handful of pages Streamlit would otherwise hide the last ones behind "View more".
    navigation = st.navigation(pages, expanded=True, position="sidebar" if admitted else "hidden")

    if access.problem:
        st.title("Data-sourcing strategy")
        st.error(dashboard.literal(access.problem), icon=":material/error:")
        st.stop()

    # With an [auth] section in secrets.toml, nothing is shown until someone signs in with a role.
    if person is None:
        st.title("Data-sourcing strategy")
        if not dashboard.signed_in():
            st.write("Sign in to see your team's sourcing recommendations.")
            st.button("Sign in", type="primary", icon=":material/login:", on_click=st.login)
        elif dashboard.email_not_verified():
            st.warning(f"{dashboard.literal(st.user.get('email'))} is not verified by the sign-in provider. Verify "
                       "the address with the provider, then sign in again.", icon=":material/lock:")
            st.button("Sign out", on_click=st.logout)
        else:
            st.warning(f"{dashboard.literal(st.user.get('email'))} has no role in this workspace. Ask an admin to add "
                       "you.", icon=":material/lock:")
            st.button("Sign out", on_click=st.logout)
        st.stop()

    location = dashboard.catalog_location()
    try:
        dashboard.catalog()
    except CatalogError as error:
        st.error(str(error), icon=":material/error:")
        st.stop()

    with st.sidebar:
        st.caption(f"Catalog ({dashboard.catalog().backend})")
        st.code(dashboard.catalog().label, language=None)
        if person.signed_in:
            st.caption(f"Signed in as {person.user} ({person.role}).")
            st.button("Sign out", on_click=st.logout, icon=":material/logout:")
        else:
            st.caption(f"Local mode: single user, {person.role} rights.")
        counts_slot = st.empty()

    def show_counts() -> None:
        counts = dashboard.counts(location)
        counts_slot.caption(
            f"{counts['tasks']} tasks · {counts['datasets']} datasets · {counts['outcomes']} outcomes · "
            f"{counts['quality_reports']} quality reports · {counts['recommendations']} recommendations · "
            f"{counts['cost_tiers']} cost tiers · {counts['audit_log']} audit entries"
        )

    show_counts()
    try:
        navigation.run()
    except PermissionDenied as refused:  # pages hide what a role cannot do; this catches anything they miss
        st.error(str(refused), icon=":material/lock:")
    # The counts are drawn before the page runs; a page that writes clears the cached reads, so drawing them
    # again here shows the write at once instead of after the next reload (issue 18 #5). Not after st.stop,
    # st.rerun or st.switch_page: drawing after a page switch was requested kept the browser's address on the
    # old page.
    show_counts()


if __name__ == "__main__":
    main()
