// One schema for both backends. Hand-maintained: keep it in step with
// migrations/sqlite and migrations/postgres (tests/db_backends.rs loads every table on both).

diesel::table! {
    write_lock (id) {
        id -> Integer,
        n -> BigInt,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        role -> Text,
        agency -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        disabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        email -> Nullable<Text>,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        token_hash -> Text,
        label -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked -> Bool,
        expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        token_hash -> Text,
        user_id -> BigInt,
        csrf_token -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> Timestamp,
        actor -> Text,
        action -> Text,
        object_type -> Text,
        object_id -> Text,
        detail -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, api_tokens, sessions, audit_log, write_lock);

diesel::table! {
    import_batches (id) {
        id -> BigInt,
        file_name -> Text,
        sha256 -> Text,
        size_bytes -> BigInt,
        format -> Text,
        sheet -> Text,
        header_row -> Integer,
        mapping -> Text,
        uploader_id -> BigInt,
        created_at -> Timestamp,
        rows_total -> BigInt,
        rows_imported -> BigInt,
        rows_rejected -> BigInt,
        contracts_created -> BigInt,
        contracts_updated -> BigInt,
        contracts_unchanged -> BigInt,
        suppliers_created -> BigInt,
        /// `staging` while the import stores its chunks, `done` once visible.
        state -> Text,
        heartbeat_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    import_errors (id) {
        id -> BigInt,
        batch_id -> BigInt,
        sheet -> Text,
        row_number -> BigInt,
        column_name -> Text,
        raw_value -> Text,
        message -> Text,
    }
}

diesel::table! {
    suppliers (id) {
        id -> BigInt,
        orgnr -> Text,
        name -> Text,
        first_batch_id -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    contracts (id) {
        id -> BigInt,
        contract_no -> Text,
        title -> Nullable<Text>,
        supplier_id -> BigInt,
        supplier_name -> Text,
        orgnr -> Text,
        category -> Nullable<Text>,
        cpv -> Nullable<Text>,
        value_ore -> Nullable<BigInt>,
        start_date -> Nullable<Date>,
        end_date -> Nullable<Date>,
        unit -> Nullable<Text>,
        contract_manager -> Nullable<Text>,
        subcontractor_levels -> Nullable<Integer>,
        extras -> Text,
        version -> Integer,
        data_sha256 -> Text,
        first_batch_id -> BigInt,
        last_batch_id -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        /// The user the contract belongs to (`domain::ownership`); see migration 000010.
        owner_user_id -> BigInt,
    }
}

diesel::table! {
    contract_versions (id) {
        id -> BigInt,
        contract_id -> BigInt,
        version -> Integer,
        batch_id -> BigInt,
        row_number -> BigInt,
        data -> Nullable<Text>,
        data_sha256 -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    import_mappings (user_id) {
        user_id -> BigInt,
        mapping -> Text,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(import_batches -> users (uploader_id));
diesel::joinable!(contracts -> users (owner_user_id));
diesel::joinable!(import_errors -> import_batches (batch_id));
diesel::joinable!(contracts -> suppliers (supplier_id));
diesel::joinable!(contract_versions -> contracts (contract_id));
diesel::joinable!(contract_versions -> import_batches (batch_id));
diesel::allow_tables_to_appear_in_same_query!(
    import_batches,
    import_errors,
    suppliers,
    contracts,
    contract_versions,
    import_mappings,
    users
);

diesel::table! {
    enrichment_jobs (orgnr) {
        orgnr -> Text,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_attempt_at -> Nullable<Timestamp>,
        last_success_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        locked_until -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    register_facts (id) {
        id -> BigInt,
        orgnr -> Text,
        source -> Text,
        outcome -> Text,
        facts -> Nullable<Text>,
        raw_json -> Nullable<Text>,
        fetched_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    feed_state (feed) {
        feed -> Text,
        last_update_id -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    approval_loads (id) {
        id -> BigInt,
        register -> Text,
        file_name -> Text,
        sha256 -> Text,
        format -> Text,
        file_date -> Nullable<Date>,
        entries -> BigInt,
        rejected -> BigInt,
        loaded_by -> Text,
        loaded_at -> Timestamp,
    }
}

diesel::table! {
    approval_entries (id) {
        id -> BigInt,
        load_id -> BigInt,
        orgnr -> Text,
        status -> Text,
        status_date -> Nullable<Date>,
        name -> Nullable<Text>,
    }
}

diesel::joinable!(approval_entries -> approval_loads (load_id));
diesel::allow_tables_to_appear_in_same_query!(approval_entries, approval_loads);

diesel::allow_tables_to_appear_in_same_query!(suppliers, enrichment_jobs);

diesel::table! {
    rule_sets (id) {
        id -> BigInt,
        version -> Text,
        files -> Text,
        created_at -> Timestamp,
        plan -> Nullable<Text>,
    }
}

diesel::table! {
    import_staged_risk (batch_id, contract_id) {
        batch_id -> BigInt,
        contract_id -> BigInt,
        assessment_id -> BigInt,
        score -> Integer,
        max_possible_score -> Integer,
        tier -> Text,
        industries -> Text,
        result_sha256 -> Nullable<Text>,
        assessed_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(import_staged_risk, assessments);
diesel::allow_tables_to_appear_in_same_query!(import_staged_risk, contract_risk);

diesel::table! {
    assessment_texts (id) {
        id -> BigInt,
        text -> Text,
    }
}

diesel::table! {
    rule_set_activations (id) {
        id -> BigInt,
        version -> Text,
        activated_by -> Text,
        activated_at -> Timestamp,
    }
}

diesel::table! {
    assessments (id) {
        id -> BigInt,
        subject -> Text,
        contract_id -> Nullable<BigInt>,
        contract_version -> Nullable<Integer>,
        orgnr -> Text,
        rule_set_version -> Text,
        input_sha256 -> Text,
        facts_id -> Nullable<BigInt>,
        parent_facts_id -> Nullable<BigInt>,
        facts_fetched_at -> Nullable<Timestamp>,
        as_of -> Date,
        score -> Integer,
        max_possible_score -> Integer,
        tier -> Text,
        industries -> Text,
        explanation -> Text,
        reason -> Text,
        assessed_at -> Timestamp,
        record -> Nullable<Binary>,
    }
}

diesel::table! {
    contract_risk (contract_id) {
        contract_id -> BigInt,
        assessment_id -> BigInt,
        score -> Integer,
        max_possible_score -> Integer,
        tier -> Text,
        industries -> Text,
        result_sha256 -> Nullable<Text>,
        assessed_at -> Timestamp,
    }
}

diesel::table! {
    supplier_risk (orgnr) {
        orgnr -> Text,
        assessment_id -> BigInt,
        score -> Integer,
        max_possible_score -> Integer,
        tier -> Text,
        industries -> Text,
        rule_set_version -> Text,
        input_sha256 -> Text,
        result_sha256 -> Nullable<Text>,
        assessed_at -> Timestamp,
    }
}

diesel::joinable!(contract_risk -> contracts (contract_id));
diesel::joinable!(contract_risk -> assessments (assessment_id));
diesel::joinable!(assessments -> contracts (contract_id));
diesel::allow_tables_to_appear_in_same_query!(
    contracts,
    contract_risk,
    assessments,
    supplier_risk,
    rule_sets,
    rule_set_activations
);
diesel::allow_tables_to_appear_in_same_query!(contract_risk, contract_versions);
diesel::allow_tables_to_appear_in_same_query!(contract_risk, import_batches);

diesel::table! {
    draws (id) {
        id -> BigInt,
        algorithm -> Text,
        seed -> Text,
        seed_source -> Text,
        manifest_sha256 -> Text,
        population_size -> BigInt,
        total_weight -> BigInt,
        strata_mode -> Text,
        allocation -> Text,
        uniform_share_per_mille -> Integer,
        min_per_stratum -> BigInt,
        sizing -> Text,
        filter -> Text,
        strata -> Text,
        weight_rule -> Text,
        created_by_user_id -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    draw_manifests (draw_id) {
        draw_id -> BigInt,
        sha256 -> Text,
        bytes -> BigInt,
        text -> Text,
    }
}

diesel::table! {
    draw_rounds (id) {
        id -> BigInt,
        draw_id -> BigInt,
        round -> Integer,
        plan -> Text,
        size_requested -> BigInt,
        picks_made -> BigInt,
        first_position -> BigInt,
        created_by_user_id -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    draw_picks (id) {
        id -> BigInt,
        draw_id -> BigInt,
        round -> Integer,
        position -> BigInt,
        stratum -> Text,
        contract_id -> BigInt,
        contract_no -> Text,
        part -> Text,
        counter -> Nullable<BigInt>,
        ticket -> Nullable<Text>,
    }
}

diesel::table! {
    cases (id) {
        id -> BigInt,
        contract_id -> BigInt,
        source -> Text,
        draw_id -> Nullable<BigInt>,
        pick_id -> Nullable<BigInt>,
        part -> Nullable<Text>,
        stratum -> Nullable<Text>,
        status -> Text,
        outcome -> Nullable<Text>,
        assigned_to -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        kind -> Text,
        dedupe_key -> Text,
        recipient_user_id -> Nullable<BigInt>,
        recipient_agency -> Nullable<Text>,
        recipient_address -> Nullable<Text>,
        recipient_liaison_id -> Nullable<BigInt>,
        recipient_name -> Nullable<Text>,
        subject -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_attempt_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        locked_until -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(draw_manifests -> draws (draw_id));
diesel::joinable!(draw_rounds -> draws (draw_id));
diesel::joinable!(draw_picks -> draws (draw_id));
diesel::joinable!(draw_picks -> contracts (contract_id));
diesel::joinable!(cases -> contracts (contract_id));
diesel::allow_tables_to_appear_in_same_query!(draws, draw_manifests, draw_rounds, draw_picks, cases, outbox);
diesel::allow_tables_to_appear_in_same_query!(draw_picks, contracts);
diesel::allow_tables_to_appear_in_same_query!(cases, contracts);
diesel::allow_tables_to_appear_in_same_query!(draws, users);
diesel::allow_tables_to_appear_in_same_query!(outbox, users);

diesel::table! {
    /// `industries` and `notices`: `,a,b,` (empty string = empty list); see the migration.
    liaisons (id) {
        id -> BigInt,
        name -> Text,
        agency -> Text,
        email -> Text,
        industries -> Text,
        notices -> Text,
        user_id -> Nullable<BigInt>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(liaisons -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(liaisons, users);

diesel::table! {
    /// Sign-in attempts (security events, pruned after a day); see the migration.
    login_attempts (id) {
        id -> BigInt,
        at -> Timestamp,
        account -> Text,
        known -> Bool,
        address -> Text,
        outcome -> Text,
    }
}
diesel::allow_tables_to_appear_in_same_query!(cases, contract_risk);

diesel::table! {
    /// Changes to stored contracts that an import applies in its final step.
    import_staged_updates (batch_id, contract_id) {
        batch_id -> BigInt,
        contract_id -> BigInt,
        base_version -> Integer,
        row_number -> BigInt,
        title -> Nullable<Text>,
        supplier_id -> BigInt,
        supplier_name -> Text,
        orgnr -> Text,
        category -> Nullable<Text>,
        cpv -> Nullable<Text>,
        value_ore -> Nullable<BigInt>,
        start_date -> Nullable<Date>,
        end_date -> Nullable<Date>,
        unit -> Nullable<Text>,
        contract_manager -> Nullable<Text>,
        subcontractor_levels -> Nullable<Integer>,
        extras -> Text,
        data -> Text,
        data_sha256 -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(import_staged_updates, contracts);
diesel::allow_tables_to_appear_in_same_query!(import_staged_updates, import_batches);

diesel::table! {
    /// The agencies a case is shared with now (migration 000011).
    case_shares (case_id, agency) {
        case_id -> BigInt,
        agency -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// The pending four-eyes close proposal of a case, if any.
    case_close_proposals (case_id) {
        case_id -> BigInt,
        outcome -> Text,
        proposed_by_user_id -> BigInt,
        proposed_at -> Timestamp,
    }
}

diesel::table! {
    /// Everything that happened to a case, append-only (see the migration).
    case_events (id) {
        id -> BigInt,
        case_id -> BigInt,
        at -> Timestamp,
        actor_user_id -> BigInt,
        kind -> Text,
        status -> Nullable<Text>,
        outcome -> Nullable<Text>,
        text -> Nullable<Text>,
        indicator -> Nullable<Text>,
        result -> Nullable<Text>,
        agency -> Nullable<Text>,
        assignee_user_id -> Nullable<BigInt>,
    }
}

diesel::joinable!(case_shares -> cases (case_id));
diesel::joinable!(case_close_proposals -> cases (case_id));
diesel::joinable!(case_events -> cases (case_id));
diesel::joinable!(case_events -> users (actor_user_id));
diesel::allow_tables_to_appear_in_same_query!(case_shares, case_close_proposals, case_events, users);
diesel::allow_tables_to_appear_in_same_query!(cases, case_shares);
diesel::allow_tables_to_appear_in_same_query!(cases, case_close_proposals);
diesel::allow_tables_to_appear_in_same_query!(cases, case_events);
diesel::allow_tables_to_appear_in_same_query!(cases, users);
diesel::allow_tables_to_appear_in_same_query!(case_shares, contracts);
diesel::allow_tables_to_appear_in_same_query!(case_shares, contract_risk);
diesel::allow_tables_to_appear_in_same_query!(import_batches, assessments);
diesel::allow_tables_to_appear_in_same_query!(case_shares, draw_picks);

diesel::table! {
    /// What a case asks the supplier for, by when (migration 000013).
    case_document_requests (id) {
        id -> BigInt,
        case_id -> BigInt,
        documents -> Text,
        note -> Nullable<Text>,
        deadline -> Date,
        requested_by_user_id -> BigInt,
        requested_at -> Timestamp,
        received_at -> Nullable<Timestamp>,
        received_by_user_id -> Nullable<BigInt>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(case_document_requests, cases);
diesel::allow_tables_to_appear_in_same_query!(case_document_requests, contracts);
diesel::allow_tables_to_appear_in_same_query!(case_document_requests, users);

diesel::table! {
    /// Evidence files of a case (migration 000014); the bytes are under the data folder.
    case_evidence (id) {
        id -> BigInt,
        case_id -> BigInt,
        file_name -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
        uploaded_by_user_id -> BigInt,
        uploaded_at -> Timestamp,
    }
}
