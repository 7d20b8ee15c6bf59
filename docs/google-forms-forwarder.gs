/**
 * Ponte forwarder for Google Forms (Google Forms has no webhook of its own).
 *
 * Posts every new response of the form, as JSON and signed with HMAC-SHA256, to a Ponte webhook
 * URL whose source is google-forms.
 *
 * Setup (in the form: ⋮ → Script editor):
 *   1. Paste this file into the editor and save.
 *   2. Project Settings → Script properties → add
 *        PONTE_URL     https://<api>.execute-api.<region>.amazonaws.com/cloudchat/conversations/google-forms?inbox_id=3
 *        PONTE_SECRET  the same value as webhooks.google-forms.signing_secret in Ponte's connection secret
 *   3. Triggers (clock icon) → Add trigger → function onFormSubmit, event source "From form",
 *      event type "On form submit". Accept the permissions it asks for.
 *
 * A response Ponte refuses makes the trigger's run fail, and Google e-mails you about it.
 */
function onFormSubmit(e) {
  var form = FormApp.getActiveForm();
  var response = e.response;
  var answers = response.getItemResponses().map(function (itemResponse) {
    var item = itemResponse.getItem();
    return {
      itemId: item.getId(),
      title: item.getTitle(),
      type: String(item.getType()),
      answer: itemResponse.getResponse()
    };
  });
  var body = JSON.stringify({
    source: 'google_forms',
    formId: form.getId(),
    formTitle: form.getTitle(),
    responseId: response.getId(),
    submittedAt: response.getTimestamp().toISOString(),
    respondentEmail: response.getRespondentEmail(),
    answers: answers
  });

  var properties = PropertiesService.getScriptProperties();
  var secret = properties.getProperty('PONTE_SECRET');
  var signature = Utilities.base64Encode(
    Utilities.computeHmacSha256Signature(body, secret, Utilities.Charset.UTF_8)
  );
  var result = UrlFetchApp.fetch(properties.getProperty('PONTE_URL'), {
    method: 'post',
    contentType: 'application/json; charset=utf-8',
    payload: body,
    headers: { 'X-Ponte-Signature': 'sha256=' + signature },
    muteHttpExceptions: true
  });
  if (result.getResponseCode() >= 300) {
    throw new Error('Ponte answered ' + result.getResponseCode() + ': ' + result.getContentText());
  }
}
