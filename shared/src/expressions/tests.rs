use super::*;
use crate::forms::{Answer, Submission};
use crate::lookup::Context;

fn form() -> Submission {
    let mut s = Submission::default();
    s.field(
        "nome",
        "Nome completo",
        "",
        Answer::text("  MARIA DA SILVA souza "),
    );
    s.field(
        "email",
        "E-mail",
        "email",
        Answer::text("teste@example.com"),
    );
    s.field(
        "interesse",
        "Qual seu interesse (escolha um)?",
        "",
        Answer::text("Orçamento"),
    );
    s.field(
        "produtos",
        "Produtos",
        "",
        Answer::list(vec!["Plano A".into(), "Plano B".into()]),
    );
    s.field("ddi", "DDI", "", Answer::text("55"));
    s.field("ddd", "DDD", "", Answer::text("(85)"));
    s.field("numero", "Número", "", Answer::text("98769-6383"));
    s.field("cpf", "CPF", "", Answer::text("123.456.789-00"));
    s.field(
        "obs",
        "Observações",
        "",
        Answer::text("{{ 7*7 }} {% for %}"),
    );
    s.hidden_field("utm_source", "google");
    s.field(
        "contato.email",
        "contato.email",
        "",
        Answer::text("a@example.com"),
    );
    s.submitted_at = Some("2026-11-21T12:30:00Z".into());
    s
}

fn answers(s: &Submission) -> Arc<Answers> {
    let query = [("inbox_id".to_string(), "3".to_string())];
    Answers::of(&Context {
        submission: s,
        query: &query,
        signed: false,
    })
}

fn render(text: &str) -> Result<String, Unrendered> {
    Text::parse(text).unwrap().render(&answers(&form()))
}

#[test]
fn filters_forms_need() {
    let cases = [
        ("{{ nome | first_name }}", "Maria"),
        ("{{ nome | title }}", "Maria da Silva Souza"),
        ("{{ cpf | digits }}", "12345678900"),
        ("[{{ nome | trim | lower }}]", "[maria da silva souza]"),
        ("{{ interesse | upper }}", "ORÇAMENTO"),
        ("{{ cidade | default('Fortaleza') }}", "Fortaleza"),
        ("{{ interesse | truncate(3) }}", "Orç"),
        ("{{ produtos | join(' + ') }}", "Plano A + Plano B"),
        ("{{ produtos }}", "Plano A, Plano B"),
        ("{{ submitted_at | date }}", "21/11/2026 09:30"),
        (
            "{{ submitted_at | date('%H:%M', 'America/Manaus') }}",
            "08:30",
        ),
        ("{{ '21/11/2026' | date('%Y-%m-%d') }}", "2026-11-21"),
        ("{{ ddi ~ ddd ~ numero }}", "55(85)98769-6383"),
        ("{{ phone_from(ddi, ddd, numero) }}", "+5585987696383"),
        ("{{ (ddd ~ numero) | phone }}", "+5585987696383"),
        ("{{ query.inbox_id }}-{{ hidden.utm_source }}", "3-google"),
        (
            "{{ answers['Qual seu interesse (escolha um)?'] }}",
            "Orçamento",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(render(text).as_deref(), Ok(want), "{text}");
    }
}

#[test]
fn the_forms_written_before_expressions_mean_what_they_meant() {
    let cases = [
        ("{{email}}", "teste@example.com"),
        ("{{E-mail}}", "teste@example.com"),
        ("{{Nome completo}}", "  MARIA DA SILVA souza "),
        ("{{Observações?}}", "{{ 7*7 }} {% for %}"),
        ("<{{cidade?}}>", "<>"),
        ("{{cidade ?? sem cidade}}", "sem cidade"),
        ("{{ cidade ?? \"aspas\" \\ }}", "\"aspas\" \\"),
        ("{{telefone ?? x}}", "x"),
        ("{{contato.email}}", "a@example.com"),
        ("{{Qual seu interesse (escolha um)}}", "Orçamento"),
    ];
    for (text, want) in cases {
        assert_eq!(render(text).as_deref(), Ok(want), "{text}");
    }
}

#[test]
fn a_missing_answer_is_named_and_a_failed_filter_says_why() {
    assert_eq!(
        render("Oi {{ cidade | upper }}"),
        Err(Unrendered::Missing(
            "needs the answer {{cidade | upper}}, which this submission does not have".into()
        ))
    );
    let Err(Unrendered::Failed(why)) = render("{{ interesse | phone }}") else {
        panic!("a text that is no phone number is refused");
    };
    assert!(why.contains("is not a phone number"), "{why}");
    let Err(Unrendered::Failed(why)) = render("{{ interesse | date }}") else {
        panic!("a text that is no date is refused");
    };
    assert!(
        why.contains("is not a date") && !why.contains("Orçamento"),
        "{why}"
    );
}

#[test]
fn answers_are_data_never_expressions() {
    assert_eq!(render("{{ obs }}").as_deref(), Ok("{{ 7*7 }} {% for %}"));
    assert_eq!(
        render("{{ obs | upper }}").as_deref(),
        Ok("{{ 7*7 }} {% FOR %}")
    );
}

#[test]
fn mistakes_are_found_at_load_with_what_is_offered() {
    for (text, wanted) in [
        ("{{ nome | frist_name }}", "unknown filter \"frist_name\""),
        ("{{ nome is blank }}", "unknown test \"blank\""),
        ("{{ range(10) }}", "unknown function \"range\""),
        ("{% for x in y %}{{x}}{% endfor %}", "statements"),
        ("{{ nome | }}", "syntax error"),
        ("{{ nome", "a placeholder is not closed"),
        ("{{ }}", "empty"),
    ] {
        let err = Text::parse(text).unwrap_err();
        assert!(err.contains(wanted), "{text}: {err}");
    }
    assert!(Text::parse("{{ nome | default('a|b') | upper }}").is_ok());
    assert!(Text::parse("{{ x is not defined }}").is_ok());
    assert!(Text::parse("sem expressões").unwrap().is_literal());
    assert!(Text::parse("{nome}} esquecido").is_err());
}

#[test]
fn conditions_test_answers_and_a_missing_one_is_simply_false() {
    let s = form();
    let a = answers(&s);
    let holds = |w: &str| Condition::parse(w).unwrap().holds(&a).unwrap();
    assert!(holds("interesse == 'Orçamento'"));
    assert!(holds("'teste' in (email or '')"));
    assert!(holds("'Plano B' in produtos"));
    assert!(!holds("cidade == 'Fortaleza'"));
    assert!(!holds("'teste' in (cidade or '')"));
    assert!(!holds("'teste' in cidade"));
    assert!(holds(
        "query.inbox_id == '3' and hidden.utm_source == 'google'"
    ));
    assert!(Condition::parse("{{ x }}").is_err() && Condition::parse(" ").is_err());
}

#[test]
fn work_is_bounded_by_fuel_and_size() {
    let big = "x".repeat(200_000);
    let mut s = Submission::default();
    s.field("big", "Big", "", Answer::text(big));
    let a = answers(&s);
    let err = Text::parse("{{ big * 100 }}")
        .unwrap()
        .render(&a)
        .unwrap_err();
    assert!(
        matches!(&err, Unrendered::Failed(why) if why.contains("fuel")),
        "{err:?}"
    );
    let err = Text::parse("{{ big }}{{ big }}")
        .unwrap()
        .render(&a)
        .unwrap_err();
    assert!(
        matches!(&err, Unrendered::Failed(why) if why.contains("longer than")),
        "{err:?}"
    );
}

/// The recipes of docs/mappings.md, on real builder payloads (tests/fixtures/forms/).
mod recipes {
    use super::*;
    use crate::forms::{self, Decoded, Source};

    fn real(source: Source, fixture: &str, content_type: &str) -> Arc<Answers> {
        let path = format!(
            "{}/../tests/fixtures/forms/{fixture}",
            env!("CARGO_MANIFEST_DIR")
        );
        let body = std::fs::read(&path).unwrap();
        let Ok(Decoded::Submissions(mut submissions)) =
            forms::decode(source, &body, Some(content_type))
        else {
            panic!("{fixture} decodes to submissions");
        };
        let submission = submissions.remove(0);
        Answers::of(&Context {
            submission: &submission,
            query: &[],
            signed: true,
        })
    }

    fn render(answers: &Arc<Answers>, text: &str) -> String {
        Text::parse(text).unwrap().render(answers).unwrap()
    }

    fn holds(answers: &Arc<Answers>, when: &str) -> bool {
        Condition::parse(when).unwrap().holds(answers).unwrap()
    }

    #[test]
    fn a_typeform_submission_first_name_date_and_choices() {
        let typeform = real(Source::Typeform, "typeform.json", "application/json");
        assert_eq!(
            render(&typeform, "{{ readable_ref_short_text | first_name }}"),
            "Laura"
        );
        assert_eq!(
            render(&typeform, "Recebido em {{ submitted_at | date }}"),
            "Recebido em 18/01/2018 16:17"
        );
        assert_eq!(
            render(&typeform, "{{ readable_ref_date | date('%d/%m/%Y') }}"),
            "15/10/2005"
        );
        assert_eq!(
            render(&typeform, "{{ readable_ref_picture_choice | join(' + ') }}"),
            "London + Sydney"
        );
        assert!(holds(&typeform, "'Sydney' in readable_ref_picture_choice"));
        assert!(holds(&typeform, "hidden.user_id == 'abc123456'"));
    }

    #[test]
    fn an_elementor_submission_routes_skips_and_phones() {
        let elementor = real(
            Source::Elementor,
            "elementor-vendas.urlencoded.txt",
            "application/x-www-form-urlencoded",
        );
        assert!(holds(&elementor, "interesse == 'Orçamento'"));
        assert!(holds(&elementor, "interesse in ['Orçamento', 'Proposta']"));
        assert!(holds(&elementor, "answers['Interesse'] == 'Orçamento'"));
        assert!(!holds(
            &elementor,
            "'teste' in (email or '') or nome == 'Teste'"
        ));
        assert_eq!(
            render(&elementor, "{{ whatsapp | phone }}"),
            "+5585987696383"
        );
        assert_eq!(render(&elementor, "{{ nome | title }}"), "Maria Souza Lima");
        let simple = real(
            Source::Elementor,
            "elementor-simple.urlencoded.txt",
            "application/x-www-form-urlencoded",
        );
        assert!(holds(
            &simple,
            "'teste' in (email or '') or nome == 'Teste'"
        ));
    }

    #[test]
    fn a_phone_asked_in_three_fields() {
        let mut s = Submission::default();
        s.field("ddi", "DDI", "", Answer::text("+55"));
        s.field("ddd", "DDD", "", Answer::text("(11)"));
        s.field("numero", "Celular", "", Answer::text("98765-4321"));
        let a = answers(&s);
        assert_eq!(
            render(&a, "{{ phone_from(ddi, ddd, numero) }}"),
            "+5511987654321"
        );
        assert_eq!(
            render(&a, "{{ phone_from(ddd, numero) }}"),
            "+5511987654321"
        );
        assert_eq!(render(&a, "{{ ddi ~ ddd ~ numero }}"), "+55(11)98765-4321");
    }
}
