//! Rules of application commands beyond their shape: the daily budget of command creates per
//! application and scope (30034), and the commands the audit log names beside its entries —
//! on both backends.

mod common;

use common::{AppInGuild, Server, id_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn setup(s: &Server) -> AppInGuild {
    s.app_in_guild("Commands").await
}

fn command(name: &str) -> Value {
    json!({"name": name, "description": "A command"})
}

async fn names(s: &Server, app: &str, guild: Option<&str>) -> Vec<String> {
    s.state
        .store
        .commands(app.parse().unwrap(), guild.map(|g| g.parse().unwrap()))
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect()
}

fn assert_daily_limit(status: StatusCode, err: &Value) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["code"], 30034, "{err}");
    assert_eq!(
        err["message"],
        "Max number of daily application command creates has been reached (3)"
    );
}

async fn daily_creates(backend: &str) {
    let s = Server::start_with(backend, |c| c.interactions.daily_command_creates = 3).await;
    let t = setup(&s).await;
    let base = format!("/applications/{}/guilds/{}/commands", t.app, t.guild);
    let start = accord_auth::now_ms() as i64;
    for name in ["one", "two", "three"] {
        let (status, body) = s
            .call(Method::POST, &base, Some(&t.bot), Some(command(name)))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // A fourth new command is refused; replacing one by name is not a create.
    let (status, err) = s
        .call(Method::POST, &base, Some(&t.bot), Some(command("four")))
        .await;
    assert_daily_limit(status, &err);
    let mut replaced = command("one");
    replaced["description"] = json!("Changed");
    let (status, body) = s
        .call(Method::POST, &base, Some(&t.bot), Some(replaced))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Deleting a command gives no create back.
    let two = s
        .state
        .store
        .commands(t.app.parse().unwrap(), Some(t.guild.parse().unwrap()))
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name == "two")
        .unwrap();
    let (status, _) = s
        .call(
            Method::DELETE,
            &format!("{base}/{}", two.id),
            Some(&t.bot),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, err) = s
        .call(Method::POST, &base, Some(&t.bot), Some(command("two")))
        .await;
    assert_daily_limit(status, &err);
    // A bulk overwrite whose new commands exceed the budget changes nothing; one that keeps
    // the existing commands goes through.
    let (status, err) = s
        .call(
            Method::PUT,
            &base,
            Some(&t.bot),
            Some(json!([command("one"), command("three"), command("five")])),
        )
        .await;
    assert_daily_limit(status, &err);
    assert_eq!(names(&s, &t.app, Some(&t.guild)).await, ["one", "three"]);
    let (status, body) = s
        .call(
            Method::PUT,
            &base,
            Some(&t.bot),
            Some(json!([command("three")])),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Each scope has its own budget: another guild, and the global commands (where a bulk
    // overwrite's new commands count too).
    let other = id_of(&s.guild(&t.owner, "Other").await);
    let (status, body) = s
        .call(
            Method::POST,
            &format!(
                "/oauth2/authorize?client_id={}&scope=bot%20applications.commands",
                t.app
            ),
            Some(&t.owner),
            Some(json!({"guild_id": other, "authorize": true, "permissions": "0"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let other_base = format!("/applications/{}/guilds/{other}/commands", t.app);
    let (status, body) = s
        .call(
            Method::POST,
            &other_base,
            Some(&t.bot),
            Some(command("four")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let global = format!("/applications/{}/commands", t.app);
    let (status, body) = s
        .call(
            Method::PUT,
            &global,
            Some(&t.bot),
            Some(json!([command("a"), command("b"), command("c")])),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, err) = s
        .call(Method::POST, &global, Some(&t.bot), Some(command("d")))
        .await;
    assert_daily_limit(status, &err);
    assert_eq!(names(&s, &t.app, None).await, ["a", "b", "c"]);

    // The day is a rolling one: a day later the budget is back.
    const DAY: i64 = 24 * 60 * 60 * 1000;
    let day_later = accord_auth::now_ms() as i64 + DAY;
    let store = &s.state.store;
    let app = t.app.parse().unwrap();
    let guild = Some(t.guild.parse().unwrap());
    assert!(
        !store
            .reserve_command_creates(app, guild, 1, 3, start + DAY - 1)
            .await
            .unwrap()
    );
    assert!(
        store
            .reserve_command_creates(app, guild, 3, 3, day_later)
            .await
            .unwrap()
    );
    assert!(
        !store
            .reserve_command_creates(app, guild, 1, 3, day_later)
            .await
            .unwrap()
    );
    s.stop().await;
}

/// The audit log carries the commands its permission updates (121) target; an update of the
/// permissions of all the application's commands (targeting the application) names none.
async fn audit_log_commands(backend: &str) {
    let s = Server::start(backend).await;
    let t = setup(&s).await;
    let base = format!("/applications/{}/guilds/{}/commands", t.app, t.guild);
    let (status, cmd) = s
        .call(Method::POST, &base, Some(&t.bot), Some(command("ping")))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{cmd}");
    let (status, other) = s
        .call(Method::POST, &base, Some(&t.bot), Some(command("other")))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    let log_url = format!("/guilds/{}/audit-logs", t.guild);
    let (status, log) = s.call(Method::GET, &log_url, Some(&t.owner), None).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    assert_eq!(log["application_commands"], json!([]));

    let rule = json!({"permissions": [{"id": t.guild, "type": 1, "permission": false}]});
    for target in [id_of(&cmd), t.app.clone()] {
        let (status, body) = s
            .call(
                Method::PUT,
                &format!("{base}/{target}/permissions"),
                Some(&t.owner),
                Some(rule.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, log) = s.call(Method::GET, &log_url, Some(&t.owner), None).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let updates: Vec<&Value> = log["audit_log_entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action_type"] == 121)
        .collect();
    assert_eq!(updates.len(), 2);
    assert_eq!(log["application_commands"], json!([cmd]));
    // Filtered to entries that name no command, the list is empty.
    let (_, log) = s
        .call(
            Method::GET,
            &format!("{log_url}?action_type=121&limit=1"),
            Some(&t.owner),
            None,
        )
        .await;
    assert_eq!(log["audit_log_entries"][0]["target_id"], t.app.as_str());
    assert_eq!(log["application_commands"], json!([]));
    s.stop().await;
}

both_backends!(daily_creates, audit_log_commands);
