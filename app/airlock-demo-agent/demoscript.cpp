// airlock-demo-agent --script FILE: a turn that is exactly the steps a file lists, so tests can play a
// hostile agent — titles that lie, kinds that do not match the input, options named against their
// kind, escape sequences in every string — and see what the client answered.
#include "demoturn.h"

#include <QFile>
#include <QJsonDocument>

using airlock::agent::RpcResult;

namespace demo {

namespace {

// "@WORKSPACE@" in any string stands for the session's folder, so a script can name absolute paths;
// "@TERMINAL@" for the terminal the last terminal/create made.
QJsonValue substitute(const QJsonValue &v, const QString &placeholder, const QString &value)
{
    if (v.isString())
        return v.toString().replace(placeholder, value);
    if (v.isArray()) {
        QJsonArray out;
        for (const QJsonValue &x : v.toArray())
            out.append(substitute(x, placeholder, value));
        return out;
    }
    if (v.isObject()) {
        QJsonObject out;
        const QJsonObject o = v.toObject();
        for (auto it = o.begin(); it != o.end(); ++it)
            out.insert(it.key(), substitute(it.value(), placeholder, value));
        return out;
    }
    return v;
}

} // namespace

// Each step is {"update": {...}} (a session/update) or {"request": METHOD, "params": {...}} (sent,
// and its answer said back as an agent message: "RESULT METHOD {json}" or "ERROR METHOD code message").
void Turn::scripted()
{
    QFile file(m_agent->options().script);
    if (!file.open(QIODevice::ReadOnly)) {
        say(QStringLiteral("cannot open the script %1").arg(file.fileName()));
        return finish(QStringLiteral("refusal"));
    }
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(file.readAll(), &error);
    if (!doc.isArray()) {
        say(QStringLiteral("the script is not a JSON array: %1").arg(error.errorString()));
        return finish(QStringLiteral("refusal"));
    }
    m_script = substitute(doc.array(), QStringLiteral("@WORKSPACE@"), m_session.cwd).toArray();
    m_scriptStep = 0;
    scriptStep();
}

void Turn::scriptStep()
{
    if (stopIfCancelled())
        return;
    if (m_scriptStep >= m_script.size())
        return finish(QStringLiteral("end_turn"));
    const QJsonObject step = m_script.at(m_scriptStep++).toObject();
    if (step.contains(QStringLiteral("update"))) {
        update(step.value(QStringLiteral("update")).toObject());
        return next(&Turn::scriptStep);
    }
    const QString method = step.value(QStringLiteral("request")).toString();
    const QJsonObject params = substitute(step.value(QStringLiteral("params")), QStringLiteral("@TERMINAL@"), m_lastTerminal).toObject();
    call(method, params, [this, method](const RpcResult &r) {
        if (r && r->isObject() && r->toObject().contains(QStringLiteral("terminalId")))
            m_lastTerminal = r->toObject().value(QStringLiteral("terminalId")).toString();
        if (r) {
            const QByteArray json = r->isObject() ? QJsonDocument(r->toObject()).toJson(QJsonDocument::Compact)
                                                  : QJsonDocument(QJsonArray{*r}).toJson(QJsonDocument::Compact);
            say(QStringLiteral("RESULT %1 %2\n").arg(method, QString::fromUtf8(json)));
        } else
            say(QStringLiteral("ERROR %1 %2 %3\n").arg(method).arg(r.error().code).arg(r.error().message));
        next(&Turn::scriptStep);
    });
}

} // namespace demo
