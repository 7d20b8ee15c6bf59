/**
 * Ponte forwarder for Google Forms (Google Forms has no webhook of its own).
 *
 * Posts every new response of the form, as JSON and signed with HMAC-SHA256, to a Ponte webhook
 * URL whose source is google-forms. A response Ponte does not accept is kept in a list and sent
 * again every 15 minutes for up to 7 days, so a provider outage or a mapping fixed later loses
 * nothing; Ponte recognises a response it has already delivered by its id and sends it once.
 *
 * Setup (in the form: ⋮ → Script editor, or Extensions → Apps Script):
 *   1. Paste this file into the editor and save.
 *   2. Project Settings → Script properties → add
 *        PONTE_URL     https://<api>.execute-api.<region>.amazonaws.com/cloudchat/conversations/google-forms?inbox_id=3
 *        PONTE_SECRET  the same value as webhooks.google-forms.signing_secret in Ponte's connection secret
 *   3. Choose the function setup in the toolbar and press Run, once. It installs two triggers
 *      (on form submit → onFormSubmit; every 15 minutes → retryPending) and asks for the
 *      permissions they need.
 *
 * When a response cannot be delivered, the trigger's run fails and Google e-mails you the reason
 * (Ponte's answer); responses still undelivered after 7 days are dropped from the list, with
 * another e-mail naming them. They stay in the form's own responses either way.
 */

/** Calls per delivery within one run, and the pause before the second and third (ms). */
var PONTE_ATTEMPTS = 3;
var PONTE_BACKOFF_MS = [1000, 2000];
/** Script property holding the undelivered responses: {responseId: {since, why}}. */
var PONTE_PENDING = 'PONTE_PENDING';
var PONTE_PENDING_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;
/** Apps Script stops a run after 6 minutes: retryPending leaves what is left for its next run. */
var PONTE_RETRY_RUN_BUDGET_MS = 4 * 60 * 1000;

/** Installs this script's two triggers, replacing any it installed before. */
function setup() {
  var form = FormApp.getActiveForm();
  ScriptApp.getProjectTriggers().forEach(function (trigger) {
    var handler = trigger.getHandlerFunction();
    if (handler === 'onFormSubmit' || handler === 'retryPending') {
      ScriptApp.deleteTrigger(trigger);
    }
  });
  ScriptApp.newTrigger('onFormSubmit').forForm(form).onFormSubmit().create();
  ScriptApp.newTrigger('retryPending').timeBased().everyMinutes(15).create();
}

/** The form-submit trigger: delivers the new response, or keeps it for retryPending. */
function onFormSubmit(e) {
  var outcome = deliver(FormApp.getActiveForm(), e.response);
  if (!outcome.ok) {
    updatePending(function (pending) {
      pending[e.response.getId()] = { since: Date.now(), why: outcome.why };
    });
    throw new Error('Ponte did not take response ' + e.response.getId() + ' (kept for a retry): ' + outcome.why);
  }
}

/** The 15-minute trigger: sends the kept responses again; drops those kept for 7 days. */
function retryPending() {
  var form = FormApp.getActiveForm();
  var started = Date.now();
  var dropped = [];
  var pending = readPending();
  Object.keys(pending).forEach(function (id) {
    if (Date.now() - started > PONTE_RETRY_RUN_BUDGET_MS) {
      return;
    }
    var response = findResponse(form, id);
    var outcome = response ? deliver(form, response) : { ok: true };
    updatePending(function (current) {
      if (!current[id]) {
        return;
      }
      if (outcome.ok) {
        delete current[id];
      } else if (Date.now() - current[id].since > PONTE_PENDING_MAX_AGE_MS) {
        dropped.push(id + ' (' + outcome.why + ')');
        delete current[id];
      } else {
        current[id].why = outcome.why;
      }
    });
  });
  if (dropped.length > 0) {
    throw new Error('Ponte never took these responses; they are no longer retried: ' + dropped.join('; '));
  }
}

/** Posts one response, again after a transient failure; returns {ok} or {ok: false, why}. */
function deliver(form, response) {
  var properties = PropertiesService.getScriptProperties();
  var body = JSON.stringify(submission(form, response));
  var signature = Utilities.base64Encode(
    Utilities.computeHmacSha256Signature(body, properties.getProperty('PONTE_SECRET'), Utilities.Charset.UTF_8)
  );
  var why = '';
  for (var attempt = 1; attempt <= PONTE_ATTEMPTS; attempt++) {
    if (attempt > 1) {
      Utilities.sleep(PONTE_BACKOFF_MS[attempt - 2]);
    }
    var status = undefined; // var is function-scoped: reset it for each attempt
    try {
      var answer = UrlFetchApp.fetch(properties.getProperty('PONTE_URL'), {
        method: 'post',
        contentType: 'application/json; charset=utf-8',
        payload: body,
        headers: { 'X-Ponte-Signature': 'sha256=' + signature },
        muteHttpExceptions: true
      });
      status = answer.getResponseCode();
      if (status < 300) {
        return { ok: true };
      }
      why = 'HTTP ' + status + ': ' + answer.getContentText().slice(0, 300);
    } catch (error) {
      // No answer at all (DNS, connection, Google's own fetch limits): worth another try.
      why = String(error).slice(0, 300);
    }
    // Validation, authentication and configuration answers will not change within a run.
    if (status !== undefined && !retryable(status)) {
      break;
    }
  }
  return { ok: false, why: why };
}

function retryable(status) {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** The JSON Ponte's google-forms source reads. */
function submission(form, response) {
  return {
    source: 'google_forms',
    formId: form.getId(),
    formTitle: form.getTitle(),
    responseId: response.getId(),
    submittedAt: response.getTimestamp().toISOString(),
    respondentEmail: response.getRespondentEmail(),
    answers: response.getItemResponses().map(function (itemResponse) {
      var item = itemResponse.getItem();
      return {
        itemId: item.getId(),
        title: item.getTitle(),
        type: String(item.getType()),
        answer: itemResponse.getResponse()
      };
    })
  };
}

function findResponse(form, id) {
  try {
    return form.getResponse(id);
  } catch (error) {
    // Deleted from the form since: nothing left to deliver.
    return null;
  }
}

function readPending() {
  var text = PropertiesService.getScriptProperties().getProperty(PONTE_PENDING);
  return text ? JSON.parse(text) : {};
}

/** Changes the kept list under the script lock, so that concurrent runs do not overwrite it. */
function updatePending(change) {
  var lock = LockService.getScriptLock();
  lock.waitLock(30000);
  try {
    var pending = readPending();
    change(pending);
    PropertiesService.getScriptProperties().setProperty(PONTE_PENDING, JSON.stringify(pending));
  } finally {
    lock.releaseLock();
  }
}
