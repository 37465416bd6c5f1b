//! Every text of the dashboard, in French and English, in one place: [`Texts`] (the pages'
//! words), [`status`] (the states' names) and [`cause`] (why a state changed).
//!
//! The language is the one the merchant picked with the pages' switch (`?lang=fr|en`, kept in
//! a cookie, see [`super::remember_lang`]), else the first of French or English in the
//! browser's `Accept-Language` (<https://www.rfc-editor.org/rfc/rfc9110#name-accept-language>),
//! else French.

use axum::http::{HeaderMap, header};
use shared::locale::Locale;

/// The cookie that keeps the language picked with the switch.
pub const LANG_COOKIE: &str = "dashboard_lang";

/// The language of a request: `?lang=` (already read into `picked`), else the cookie's, else
/// `Accept-Language`'s, else French.
pub fn pick(picked: Option<&str>, headers: &HeaderMap) -> Locale {
    let parse = |code: &str| match code {
        "fr" => Some(Locale::Fr),
        "en" => Some(Locale::En),
        _ => None,
    };
    if let Some(locale) = picked.and_then(parse) {
        return locale;
    }
    let jar = axum_extra::extract::cookie::CookieJar::from_headers(headers);
    if let Some(locale) = jar.get(LANG_COOKIE).and_then(|c| parse(c.value())) {
        return locale;
    }
    let accepted = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
    accepted
        .split(',')
        .filter_map(|part| {
            let tag = part.split(';').next().unwrap_or("").trim();
            let q = part
                .split(';')
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let lang = tag.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
            parse(&lang).filter(|_| q > 0.0).map(|l| (l, q))
        })
        // The highest weight; the first listed among equals.
        .fold(None::<(Locale, f32)>, |best, (l, q)| match best {
            Some((_, bq)) if bq >= q => best,
            _ => Some((l, q)),
        })
        .map_or(Locale::Fr, |(l, _)| l)
}

/// The dashboard's words in one language.
#[derive(Debug)]
pub struct Texts {
    /// `lang` of the pages.
    pub lang: &'static str,
    /// The other language's code and name, for the switch.
    pub other_lang: &'static str,
    /// The other language's name, in that language.
    pub other_lang_name: &'static str,
    /// The switch's accessible label.
    pub switch_label: &'static str,
    pub title: &'static str,
    pub nav_label: &'static str,
    pub nav_overview: &'static str,
    pub nav_payments: &'static str,
    pub logout: &'static str,
    pub login_heading: &'static str,
    pub login_key: &'static str,
    pub login_key_hint: &'static str,
    pub login_submit: &'static str,
    pub login_refused: &'static str,
    pub login_too_many: &'static str,
    pub login_limited: &'static str,
    pub payments_heading: &'static str,
    pub search_label: &'static str,
    pub search_hint: &'static str,
    pub filter_status: &'static str,
    pub filter_provider: &'static str,
    pub filter_method: &'static str,
    pub filter_all: &'static str,
    pub filter_apply: &'static str,
    pub col_reference: &'static str,
    pub col_amount: &'static str,
    pub col_customer: &'static str,
    pub col_provider: &'static str,
    pub col_method: &'static str,
    pub col_status: &'static str,
    pub col_time: &'static str,
    pub col_id: &'static str,
    pub col_failure: &'static str,
    pub col_reason: &'static str,
    pub col_change: &'static str,
    pub col_cause: &'static str,
    pub col_type: &'static str,
    pub col_delivery: &'static str,
    pub col_tries: &'static str,
    pub col_last_answer: &'static str,
    pub col_next_try: &'static str,
    pub none: &'static str,
    pub next_page: &'static str,
    pub checkout_heading: &'static str,
    pub details: &'static str,
    pub created: &'static str,
    pub expires: &'static str,
    pub description: &'static str,
    pub timeline: &'static str,
    pub attempts: &'static str,
    pub refunds: &'static str,
    pub events: &'static str,
    pub refund_heading: &'static str,
    pub refund_amount: &'static str,
    pub refund_amount_hint: &'static str,
    pub refund_reason: &'static str,
    pub refund_review: &'static str,
    pub refund_confirm_heading: &'static str,
    pub refund_confirm_text: &'static str,
    pub refund_all: &'static str,
    pub refund_confirm: &'static str,
    pub refund_done: &'static str,
    pub redeliver: &'static str,
    pub redeliver_confirm_heading: &'static str,
    pub redeliver_confirm_text: &'static str,
    pub redeliver_confirm: &'static str,
    pub redeliver_done: &'static str,
    pub cancel_heading: &'static str,
    pub cancel_text: &'static str,
    pub cancel_review: &'static str,
    pub cancel_confirm_heading: &'static str,
    pub cancel_confirm_text: &'static str,
    pub cancel_confirm: &'static str,
    pub cancel_done: &'static str,
    pub back: &'static str,
    pub checkout_word: &'static str,
    pub overview_heading: &'static str,
    pub overview_window: &'static str,
    pub chart_volume: &'static str,
    pub chart_amount: &'static str,
    pub chart_providers: &'static str,
    pub chart_methods: &'static str,
    pub chart_failures: &'static str,
    pub chart_data: &'static str,
    pub col_day: &'static str,
    pub col_checkouts: &'static str,
    pub col_paid: &'static str,
    pub col_paid_amount: &'static str,
    pub col_refunded: &'static str,
    pub col_attempts: &'static str,
    pub col_succeeded: &'static str,
    pub col_rate: &'static str,
    pub col_count: &'static str,
    pub median_to_pay: &'static str,
    pub seconds: &'static str,
    pub no_failure_code: &'static str,
    pub forbidden: &'static str,
    pub error_heading: &'static str,
    pub error_server: &'static str,
    pub not_found: &'static str,
}

const FR: Texts = Texts {
    lang: "fr",
    other_lang: "en",
    other_lang_name: "English",
    switch_label: "Langue",
    title: "Tableau de bord",
    nav_label: "Menu du tableau de bord",
    nav_overview: "Vue d'ensemble",
    nav_payments: "Paiements",
    logout: "Se déconnecter",
    login_heading: "Connexion marchand",
    login_key: "Clé secrète marchand",
    login_key_hint: "La clé mk_test_… ou mk_live_… de ce vérificateur. Elle reste sur le serveur : le navigateur ne garde qu'un cookie de session.",
    login_submit: "Se connecter",
    login_refused: "Cette clé n'est pas acceptée.",
    login_too_many: "Trop de tentatives de connexion depuis cette adresse. Réessayez dans (secondes) :",
    login_limited: "Trop de tentatives : réessayez dans une minute.",
    payments_heading: "Paiements",
    search_label: "Référence ou numéro",
    search_hint: "La référence de commande exacte, ou le numéro du client.",
    filter_status: "État",
    filter_provider: "Prestataire",
    filter_method: "Moyen",
    filter_all: "Tous",
    filter_apply: "Filtrer",
    col_reference: "Référence",
    col_amount: "Montant",
    col_customer: "Client",
    col_provider: "Prestataire",
    col_method: "Moyen",
    col_status: "État",
    col_time: "Date (UTC)",
    col_id: "Identifiant",
    col_failure: "Échec",
    col_reason: "Motif",
    col_change: "Changement",
    col_cause: "Cause",
    col_type: "Type",
    col_delivery: "Livraison",
    col_tries: "Envois",
    col_last_answer: "Dernière réponse",
    col_next_try: "Prochain envoi",
    none: "Aucun.",
    next_page: "Page suivante",
    checkout_heading: "Paiement",
    details: "Détails",
    created: "Créé le",
    expires: "Expire le",
    description: "Description",
    timeline: "Chronologie",
    attempts: "Tentatives",
    refunds: "Remboursements",
    events: "Événements envoyés au marchand",
    refund_heading: "Rembourser",
    refund_amount: "Montant à rembourser",
    refund_amount_hint: "Vide : tout ce qui n'est pas encore remboursé.",
    refund_reason: "Motif (facultatif)",
    refund_review: "Vérifier le remboursement",
    refund_confirm_heading: "Confirmer le remboursement",
    refund_confirm_text: "Rembourser ce montant au client ? Le prestataire reverse l'argent : cela ne s'annule pas.",
    refund_all: "tout ce qui reste",
    refund_confirm: "Rembourser",
    refund_done: "Remboursement enregistré.",
    redeliver: "Renvoyer",
    redeliver_confirm_heading: "Confirmer le renvoi",
    redeliver_confirm_text: "Renvoyer cet événement au point d'accès du marchand, avec le même identifiant ?",
    redeliver_confirm: "Renvoyer l'événement",
    redeliver_done: "Renvoi programmé.",
    cancel_heading: "Annuler le paiement",
    cancel_text: "Personne n'a encore commencé à payer : vous pouvez l'annuler.",
    cancel_review: "Vérifier l'annulation",
    cancel_confirm_heading: "Confirmer l'annulation",
    cancel_confirm_text: "Annuler ce paiement ? Le client ne pourra plus le payer, et votre point d'accès reçoit checkout.cancelled. Cela ne s'annule pas.",
    cancel_confirm: "Annuler le paiement",
    cancel_done: "Paiement annulé.",
    back: "Retour",
    checkout_word: "paiement",
    overview_heading: "Vue d'ensemble",
    overview_window: "Les 30 derniers jours (UTC), par date de création.",
    chart_volume: "Paiements créés et payés par jour",
    chart_amount: "Montant payé et remboursé par jour",
    chart_providers: "Taux de succès par prestataire",
    chart_methods: "Taux de succès par opérateur",
    chart_failures: "Motifs d'échec",
    chart_data: "Données du graphique",
    col_day: "Jour",
    col_checkouts: "Créés",
    col_paid: "Payés",
    col_paid_amount: "Montant payé",
    col_refunded: "Remboursé",
    col_attempts: "Tentatives",
    col_succeeded: "Réussies",
    col_rate: "Taux",
    col_count: "Nombre",
    median_to_pay: "Temps médian pour payer",
    seconds: "s",
    no_failure_code: "sans code",
    forbidden: "Ce formulaire a expiré ou ne vient pas de cette page : rien n'a été fait. Rechargez la page et réessayez.",
    error_heading: "Erreur",
    error_server: "Le vérificateur n'a pas pu répondre. Réessayez dans un instant.",
    not_found: "Introuvable.",
};

const EN: Texts = Texts {
    lang: "en",
    other_lang: "fr",
    other_lang_name: "Français",
    switch_label: "Language",
    title: "Dashboard",
    nav_label: "Dashboard menu",
    nav_overview: "Overview",
    nav_payments: "Payments",
    logout: "Log out",
    login_heading: "Merchant login",
    login_key: "Merchant secret key",
    login_key_hint: "This verifier's mk_test_… or mk_live_… key. It stays on the server: the browser keeps only a session cookie.",
    login_submit: "Log in",
    login_refused: "This key is not accepted.",
    login_too_many: "Too many login attempts from this address. Try again in (seconds):",
    login_limited: "Too many attempts: try again in a minute.",
    payments_heading: "Payments",
    search_label: "Reference or number",
    search_hint: "The exact order reference, or the customer's number.",
    filter_status: "Status",
    filter_provider: "Provider",
    filter_method: "Method",
    filter_all: "All",
    filter_apply: "Filter",
    col_reference: "Reference",
    col_amount: "Amount",
    col_customer: "Customer",
    col_provider: "Provider",
    col_method: "Method",
    col_status: "Status",
    col_time: "Time (UTC)",
    col_id: "Id",
    col_failure: "Failure",
    col_reason: "Reason",
    col_change: "Change",
    col_cause: "Cause",
    col_type: "Type",
    col_delivery: "Delivery",
    col_tries: "Sends",
    col_last_answer: "Last answer",
    col_next_try: "Next send",
    none: "None.",
    next_page: "Next page",
    checkout_heading: "Payment",
    details: "Details",
    created: "Created",
    expires: "Expires",
    description: "Description",
    timeline: "Timeline",
    attempts: "Attempts",
    refunds: "Refunds",
    events: "Events sent to the merchant",
    refund_heading: "Refund",
    refund_amount: "Amount to refund",
    refund_amount_hint: "Empty: everything not refunded yet.",
    refund_reason: "Reason (optional)",
    refund_review: "Review the refund",
    refund_confirm_heading: "Confirm the refund",
    refund_confirm_text: "Refund this amount to the customer? The provider sends the money back: it cannot be undone.",
    refund_all: "everything left",
    refund_confirm: "Refund",
    refund_done: "Refund recorded.",
    redeliver: "Send again",
    redeliver_confirm_heading: "Confirm the redelivery",
    redeliver_confirm_text: "Send this event to the merchant's endpoint again, with the same id?",
    redeliver_confirm: "Send the event again",
    redeliver_done: "Redelivery queued.",
    cancel_heading: "Cancel the payment",
    cancel_text: "Nobody has started paying yet: you can cancel it.",
    cancel_review: "Review the cancellation",
    cancel_confirm_heading: "Confirm the cancellation",
    cancel_confirm_text: "Cancel this payment? The customer can no longer pay it, and your endpoint receives checkout.cancelled. This cannot be undone.",
    cancel_confirm: "Cancel the payment",
    cancel_done: "Payment cancelled.",
    back: "Back",
    checkout_word: "payment",
    overview_heading: "Overview",
    overview_window: "The last 30 days (UTC), by creation time.",
    chart_volume: "Payments created and paid per day",
    chart_amount: "Amount paid and refunded per day",
    chart_providers: "Success rate per provider",
    chart_methods: "Success rate per operator",
    chart_failures: "Failure reasons",
    chart_data: "The chart's data",
    col_day: "Day",
    col_checkouts: "Created",
    col_paid: "Paid",
    col_paid_amount: "Amount paid",
    col_refunded: "Refunded",
    col_attempts: "Attempts",
    col_succeeded: "Succeeded",
    col_rate: "Rate",
    col_count: "Count",
    median_to_pay: "Median time to pay",
    seconds: "s",
    no_failure_code: "no code",
    forbidden: "This form expired or did not come from this page: nothing was done. Reload the page and try again.",
    error_heading: "Error",
    error_server: "The verifier could not answer. Try again in a moment.",
    not_found: "Not found.",
};

/// The texts of `locale`.
pub fn texts(locale: Locale) -> &'static Texts {
    match locale {
        Locale::Fr => &FR,
        Locale::En => &EN,
    }
}

/// The name of a checkout, attempt, refund or delivery state (its stored form).
pub fn status(locale: Locale, state: &str) -> &'static str {
    let (fr, en) = match state {
        "open" => ("ouvert", "open"),
        "processing" => ("en cours", "processing"),
        "succeeded" => ("payé", "succeeded"),
        "expired" => ("expiré", "expired"),
        "cancelled" => ("annulé", "cancelled"),
        "partially_refunded" => ("remboursé en partie", "partially refunded"),
        "refunded" => ("remboursé", "refunded"),
        "created" => ("créée", "created"),
        "awaiting_customer" => ("attend le client", "awaiting the customer"),
        "authorized" => ("autorisée", "authorized"),
        "failed" => ("échoué", "failed"),
        "review" => ("à vérifier", "in review"),
        "pending" => ("en attente", "pending"),
        "delivered" => ("livré", "delivered"),
        _ => ("?", "?"),
    };
    match locale {
        Locale::Fr => fr,
        Locale::En => en,
    }
}

/// Why a state changed, from its stored form ([`crate::store::Cause::to_text`]): what kind of
/// cause, in words, and its detail (the provider, the notification's id, the API call).
pub fn cause(locale: Locale, text: &str) -> (&'static str, String) {
    let fr = locale == Locale::Fr;
    let word = |f: &'static str, e: &'static str| if fr { f } else { e };
    if let Some(rest) = text.strip_prefix("webhook:") {
        (word("notification du prestataire", "provider webhook"), rest.replacen(':', " · ", 1))
    } else if let Some(rest) = text.strip_prefix("poll:") {
        (word("état demandé au prestataire", "status fetch"), rest.to_owned())
    } else if let Some(rest) = text.strip_prefix("provider_response:") {
        (word("réponse du prestataire", "provider's answer"), rest.to_owned())
    } else if text == "expiry" {
        (word("délai dépassé", "deadline passed"), String::new())
    } else if let Some(rest) = text.strip_prefix("api:") {
        (word("appel d'API", "API call"), rest.replace(':', " · "))
    } else {
        (word("autre", "other"), text.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn the_switch_then_the_cookie_then_accept_language_pick_the_language() {
        assert_eq!(pick(None, &HeaderMap::new()), Locale::Fr);
        assert_eq!(pick(None, &accept("en-GB,en;q=0.9,fr;q=0.8")), Locale::En);
        assert_eq!(pick(None, &accept("de-DE, fr;q=0.5, en;q=0.7")), Locale::En);
        assert_eq!(pick(None, &accept("en;q=0, fr-CI")), Locale::Fr);
        assert_eq!(pick(None, &accept("wo-SN")), Locale::Fr);
        let mut cookie = accept("fr");
        cookie.insert(header::COOKIE, HeaderValue::from_static("dashboard_lang=en"));
        assert_eq!(pick(None, &cookie), Locale::En);
        assert_eq!(pick(Some("fr"), &cookie), Locale::Fr);
        assert_eq!(pick(Some("xx"), &cookie), Locale::En);
    }

    #[test]
    fn causes_read_as_their_kind() {
        assert_eq!(
            cause(Locale::En, "webhook:nova_send:wh_1"),
            ("provider webhook", "nova_send · wh_1".into())
        );
        assert_eq!(cause(Locale::En, "poll:mypvit").0, "status fetch");
        assert_eq!(cause(Locale::Fr, "api:refund").0, "appel d'API");
        assert_eq!(status(Locale::En, "partially_refunded"), "partially refunded");
    }
}
