//! Integration tests of `mailmfa::delivery::sms` against a real HTTP server
//! written here: a thread on 127.0.0.1 that records each request (method,
//! target, headers, body) and answers with a canned response.

use std::net::TcpListener;
use std::time::Duration;

use crate::common::http_server::{start_http, start_http_with};

use crate::common::fixtures::{assert_discreet, assert_gives_up_after_half_a_second};
use base64::Engine as _;
use mailmfa::delivery::sms::{HttpMethod, SmsAuth, SmsBody, SmsGateway, SmsPreset, SuccessRule};
use mailmfa::delivery::{Channels, CodeMessage, CodeSender, DeliveryError};
use mailmfa::domain::{PhoneNumber, Provider, Settings};
use serde_json::json;

/// A message with every character that needs escaping somewhere.
const MESSAGE: &str = "Code 482913 & more = \"ok\" + 'x' ü €\\ok";
const CODE: &str = "482913";
const TO: &str = "+49 151 1234 5678";
const TO_E164: &str = "+4915112345678";
const PASSWORD: &str = "p@ss w0rd&=+";
/// What an error must never show.
const SECRETS: &[&str] = &[MESSAGE, CODE, PASSWORD];

fn to() -> PhoneNumber {
    TO.parse().expect("the test number")
}

fn basic(user: &str, pass: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}")))
}

#[test]
fn twilio_request_shape() {
    let server = start_http(201, "Created", r#"{"sid":"SM1","status":"queued"}"#);
    let url = server.url("/2010-04-01/Accounts/{username}/Messages.json");
    let gateway =
        SmsGateway::from_preset(SmsPreset::Twilio, Some(&url), "AC0123456789abcdef", PASSWORD, "+15005550006");
    gateway.send(&to(), MESSAGE).expect("twilio send");

    let req = server.only_request();
    assert_eq!(req.method, "POST");
    assert_eq!(req.target, "/2010-04-01/Accounts/AC0123456789abcdef/Messages.json");
    assert_eq!(req.header("Authorization"), Some(basic("AC0123456789abcdef", PASSWORD).as_str()));
    assert_eq!(req.header("Content-Type"), Some("application/x-www-form-urlencoded"));
    assert_eq!(
        req.body_text(),
        "To=%2B4915112345678&From=%2B15005550006\
         &Body=Code+482913+%26+more+%3D+%22ok%22+%2B+%27x%27+%C3%BC+%E2%82%AC%5Cok"
    );
    assert_eq!(
        req.form(),
        vec![
            ("To".to_owned(), TO_E164.to_owned()),
            ("From".to_owned(), "+15005550006".to_owned()),
            ("Body".to_owned(), MESSAGE.to_owned()),
        ]
    );
}

#[test]
fn twilio_default_url() {
    let gateway = SmsGateway::from_preset(SmsPreset::Twilio, None, "AC1", "t", "+1");
    assert_eq!(gateway.url_template, "https://api.twilio.com/2010-04-01/Accounts/{username}/Messages.json");
    assert_eq!(gateway.method, HttpMethod::Post);
}

#[test]
fn vonage_request_shape() {
    let server = start_http(
        200,
        "OK",
        r#"{"message-count":"1","messages":[{"to":"4915112345678","message-id":"0A00","status":"0","remaining-balance":"3.14"}]}"#,
    );
    let gateway =
        SmsGateway::from_preset(SmsPreset::Vonage, Some(&server.url("/sms/json")), "abcd1234", PASSWORD, "MailMFA");
    gateway.send(&to(), MESSAGE).expect("vonage send");

    let req = server.only_request();
    assert_eq!(req.method, "POST");
    assert_eq!(req.target, "/sms/json");
    assert_eq!(req.header("Authorization"), None);
    assert_eq!(req.header("Content-Type"), Some("application/x-www-form-urlencoded"));
    assert_eq!(
        req.form(),
        vec![
            ("api_key".to_owned(), "abcd1234".to_owned()),
            ("api_secret".to_owned(), PASSWORD.to_owned()),
            ("to".to_owned(), "4915112345678".to_owned()),
            ("from".to_owned(), "MailMFA".to_owned()),
            ("text".to_owned(), MESSAGE.to_owned()),
        ]
    );
    assert!(req.body_text().contains("api_secret=p%40ss+w0rd%26%3D%2B&"));
    assert_eq!(
        SmsGateway::from_preset(SmsPreset::Vonage, None, "k", "s", "x").url_template,
        "https://rest.nexmo.com/sms/json"
    );
}

#[test]
fn vonage_status_4_is_not_confirmed() {
    let server =
        start_http(200, "OK", r#"{"message-count":"1","messages":[{"status":"4","error-text":"Bad Credentials"}]}"#);
    let gateway =
        SmsGateway::from_preset(SmsPreset::Vonage, Some(&server.url("/sms/json")), "abcd1234", PASSWORD, "MailMFA");
    let err = gateway.send(&to(), MESSAGE).expect_err("status 4");
    let text = assert_discreet(&err, SECRETS);
    assert!(matches!(err, DeliveryError::NotConfirmed(_)), "{err:?}");
    assert_eq!(text, "SMS gateway did not confirm the message: expected JSON field messages.0.status = 0, found 4");
}

#[test]
fn clickatell_request_shape() {
    let server = start_http(
        202,
        "Accepted",
        r#"{"messages":[{"apiMessageId":"1d1e","accepted":true,"to":"4915112345678","error":null}],"error":null}"#,
    );
    let gateway =
        SmsGateway::from_preset(SmsPreset::Clickatell, Some(&server.url("/v1/message")), "", "Xk3-api-KEY==", "");
    gateway.send(&to(), MESSAGE).expect("clickatell send");

    let req = server.only_request();
    assert_eq!(req.method, "POST");
    assert_eq!(req.target, "/v1/message");
    assert_eq!(req.header("Authorization"), Some("Xk3-api-KEY=="));
    assert_eq!(req.header("Content-Type"), Some("application/json"));
    assert_eq!(req.json(), json!({"messages": [{"channel": "sms", "to": "4915112345678", "content": MESSAGE}]}));
    // Quotes and backslashes escaped as JSON, not pasted in.
    assert!(
        req.body_text().contains(r#""content":"Code 482913 & more = \"ok\" + 'x' ü €\\ok""#),
        "{}",
        req.body_text()
    );
    assert_eq!(
        SmsGateway::from_preset(SmsPreset::Clickatell, None, "", "k", "").url_template,
        "https://platform.clickatell.com/v1/message"
    );
}

#[test]
fn clickatell_not_accepted_is_not_confirmed() {
    let server = start_http(
        202,
        "Accepted",
        r#"{"messages":[{"accepted":false,"error":{"code":"23","description":"Invalid to"}}],"error":null}"#,
    );
    let gateway = SmsGateway::from_preset(SmsPreset::Clickatell, Some(&server.url("/v1/message")), "", "KEY", "");
    let err = gateway.send(&to(), MESSAGE).expect_err("accepted false");
    let text = assert_discreet(&err, SECRETS);
    assert!(text.contains("messages.0.accepted = true, found false"), "{text}");
}

#[test]
fn webhook_request_shape() {
    let server = start_http(200, "OK", r#"{"ok":true}"#);
    let gateway =
        SmsGateway::from_preset(SmsPreset::Webhook, Some(&server.url("/hooks/sms?tenant=a%20b")), "", "tok-123", "");
    gateway.send(&to(), MESSAGE).expect("webhook send");

    let req = server.only_request();
    assert_eq!(req.method, "POST");
    assert_eq!(req.target, "/hooks/sms?tenant=a%20b");
    assert_eq!(req.header("Authorization"), Some("Bearer tok-123"));
    assert_eq!(req.header("Content-Type"), Some("application/json"));
    assert_eq!(req.json(), json!({"to": TO_E164, "message": MESSAGE}));
}

#[test]
fn webhook_without_password_sends_no_authorization() {
    let server = start_http(204, "No Content", "");
    let gateway = SmsGateway::from_preset(SmsPreset::Webhook, Some(&server.url("/sms")), "", "", "");
    gateway.send(&to(), MESSAGE).expect("webhook send");
    assert_eq!(server.only_request().header("Authorization"), None);
}

#[test]
fn webhook_without_url_is_a_config_error() {
    let gateway = SmsGateway::from_preset(SmsPreset::Webhook, None, "", "tok", "");
    let err = gateway.send(&to(), MESSAGE).expect_err("no URL");
    let text = assert_discreet(&err, SECRETS);
    assert!(matches!(err, DeliveryError::Config { .. }), "{err:?}");
    assert_eq!(text, "SMS gateway is misconfigured: no gateway URL is set");
}

#[test]
fn get_gateway_percent_encodes_url_values() {
    let server = start_http(200, "OK", "OK: queued 1");
    let gateway = SmsGateway {
        method: HttpMethod::Get,
        url_template: server.url("/send?to={to}&from={sender}&text={message}&key={password}"),
        auth: SmsAuth::Header { name: "X-Api-User".to_owned(), value: "{username}".to_owned() },
        body: SmsBody::None,
        success: SuccessRule { statuses: vec![200], json_field: None, body_contains: Some("OK".to_owned()) },
        timeout: Duration::from_secs(5),
        username: "alice".to_owned(),
        password: PASSWORD.to_owned(),
        sender: "Mail MFA".to_owned(),
    };
    gateway.send(&to(), MESSAGE).expect("GET send");
    let req = server.only_request();
    assert_eq!(req.method, "GET");
    assert_eq!(
        req.target,
        "/send?to=%2B4915112345678&from=Mail%20MFA\
         &text=Code%20482913%20%26%20more%20%3D%20%22ok%22%20%2B%20%27x%27%20%C3%BC%20%E2%82%AC%5Cok\
         &key=p%40ss%20w0rd%26%3D%2B"
    );
    assert_eq!(req.header("X-Api-User"), Some("alice"));
    assert!(req.body.is_empty());
}

#[test]
fn body_contains_rule_not_met() {
    let server = start_http(200, "OK", "ERR: no credit");
    let mut gateway = SmsGateway::from_preset(SmsPreset::Webhook, Some(&server.url("/sms")), "", "", "");
    gateway.success.body_contains = Some("OK".to_owned());
    let err = gateway.send(&to(), MESSAGE).expect_err("no OK");
    let text = assert_discreet(&err, SECRETS);
    assert!(matches!(err, DeliveryError::NotConfirmed(_)), "{err:?}");
    assert!(text.contains("expected the answer to contain \"OK\""), "{text}");
}

#[test]
fn malformed_json_with_json_rule_fails_closed() {
    let server = start_http(200, "OK", "<html>maintenance</html>");
    let gateway = SmsGateway::from_preset(SmsPreset::Vonage, Some(&server.url("/sms/json")), "k", PASSWORD, "MailMFA");
    let err = gateway.send(&to(), MESSAGE).expect_err("not JSON");
    let text = assert_discreet(&err, SECRETS);
    assert!(text.contains("not JSON"), "{text}");
}

#[test]
fn missing_json_field_fails_closed() {
    let server = start_http(200, "OK", r#"{"messages":[]}"#);
    let gateway = SmsGateway::from_preset(SmsPreset::Vonage, Some(&server.url("/sms/json")), "k", PASSWORD, "MailMFA");
    let err = gateway.send(&to(), MESSAGE).expect_err("no field");
    let text = assert_discreet(&err, SECRETS);
    assert!(text.contains("no such field"), "{text}");
}

#[test]
fn http_500_is_an_error_without_the_message() {
    // The server echoes the message and the password back: neither may show.
    let server =
        start_http(500, "Internal Server Error", r#"{"error":"could not send Code 482913 & more, key p@ss w0rd&=+"}"#);
    let gateway = SmsGateway::from_preset(SmsPreset::Twilio, Some(&server.url("/x")), "AC1", PASSWORD, "+1555");
    let err = gateway.send(&to(), MESSAGE).expect_err("500");
    let text = assert_discreet(&err, SECRETS);
    assert_eq!(text, "SMS gateway answered HTTP 500 Internal Server Error");
    assert_eq!(server.requests().len(), 1, "no retry");
}

#[test]
fn http_401_is_an_error() {
    let server = start_http(401, "Unauthorized", r#"{"code":20003,"message":"Authenticate"}"#);
    let gateway = SmsGateway::from_preset(SmsPreset::Twilio, Some(&server.url("/x")), "AC1", PASSWORD, "+1555");
    let err = gateway.send(&to(), MESSAGE).expect_err("401");
    assert_eq!(assert_discreet(&err, SECRETS), "SMS gateway answered HTTP 401 Unauthorized");
}

#[test]
fn redirect_is_not_followed() {
    let server = start_http_with(302, "Found", "", &[("Location", "http://127.0.0.1:9/steal")]);
    let gateway = SmsGateway::from_preset(SmsPreset::Twilio, Some(&server.url("/x")), "AC1", PASSWORD, "+1555");
    let err = gateway.send(&to(), MESSAGE).expect_err("302");
    assert_eq!(assert_discreet(&err, SECRETS), "SMS gateway answered HTTP 302 Found");
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn explicit_status_list() {
    let server = start_http(200, "OK", "{}");
    let mut gateway = SmsGateway::from_preset(SmsPreset::Webhook, Some(&server.url("/sms")), "", "", "");
    gateway.success.statuses = vec![201];
    let err = gateway.send(&to(), MESSAGE).expect_err("200 not in list");
    assert_eq!(assert_discreet(&err, SECRETS), "SMS gateway answered HTTP 200 OK");
}

#[test]
fn connection_refused_is_an_error() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let url = format!("http://127.0.0.1:{port}/sms?key={{password}}&text={{message}}");
    let gateway = SmsGateway::from_preset(SmsPreset::Webhook, Some(&url), "", PASSWORD, "");
    let err = gateway.send(&to(), MESSAGE).expect_err("refused");
    let text = assert_discreet(&err, SECRETS);
    assert!(matches!(err, DeliveryError::ConnectionRefused { .. }), "{err:?}");
    assert!(text.starts_with(&format!("SMS gateway 127.0.0.1:{port} refused the connection")), "{text}");
    assert!(!text.contains("p%40ss"), "{text}");
}

#[test]
fn silent_gateway_times_out() {
    // Listening but never accepting: connect succeeds, no answer ever comes.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/sms", listener.local_addr().expect("addr"));
    let mut gateway = SmsGateway::from_preset(SmsPreset::Webhook, Some(&url), "", PASSWORD, "");
    gateway.timeout = Duration::from_millis(500);
    assert_gives_up_after_half_a_second(|| gateway.send(&to(), MESSAGE), SECRETS);
    drop(listener);
}

/// The gateway takes only a parsed [`PhoneNumber`]; a destination that is not one is refused by
/// the channels before any request.
#[test]
fn invalid_phone_number_sends_nothing() {
    let server = start_http(200, "OK", "{}");
    let mut settings = Settings::defaults();
    settings.sms_url = server.url("/sms");
    let channels = Channels::new(settings);
    let message = CodeMessage { subject: String::new(), body: MESSAGE.to_owned().into() };
    for bad in ["015112345678", "+49 151 abc", "+1\r\nX: y", ""] {
        let err = channels.send(Provider::Sms, bad, &message).expect_err("bad number");
        assert_discreet(&err, SECRETS);
        assert!(matches!(err, DeliveryError::InvalidPhoneNumber(_)), "{err:?}");
    }
    assert!(server.requests().is_empty());
    channels.send(Provider::Sms, TO, &message).expect("a good number is sent");
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn line_break_in_auth_value_is_a_config_error() {
    let server = start_http(200, "OK", "{}");
    let gateway = SmsGateway::from_preset(SmsPreset::Webhook, Some(&server.url("/sms")), "", "tok\r\nX-Evil: 1", "");
    let err = gateway.send(&to(), MESSAGE).expect_err("bad header");
    let text = assert_discreet(&err, SECRETS);
    assert!(!text.contains("X-Evil"), "{text}");
    assert!(matches!(err, DeliveryError::Config { .. }), "{err:?}");
    assert!(server.requests().is_empty());
}

#[test]
fn get_with_body_is_a_config_error() {
    let mut gateway = SmsGateway::from_preset(SmsPreset::Webhook, Some("http://127.0.0.1:9/"), "", "", "");
    gateway.method = HttpMethod::Get;
    let err = gateway.send(&to(), MESSAGE).expect_err("GET with body");
    assert!(matches!(err, DeliveryError::Config { .. }), "{err:?}");
}
