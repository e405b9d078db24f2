#pragma once

#include "rowtable.h"

#include <QList>

namespace airlock::ui {

class PolicyDocument;
class PolicyPage;

// Every page of the policy editor, in the order of the policy's sections.
QList<PolicyPage *> createPolicyPages(PolicyDocument *doc, QWidget *parent);

// A one-column table over a string list in the policy.
RowTable *stringListTable(PolicyDocument *doc, const QString &noun, const QString &title,
                          std::function<const QStringList &(const policy::Policy &)> get,
                          std::function<QStringList &(policy::Policy &)> ref, const QString &fresh = {});

// Choices for enum columns in tables.
template<typename E>
QStringList enumChoices()
{
    QStringList out;
    for (const auto &e : policy::enumNames<E>())
        out << QString::fromLatin1(e.name);
    return out;
}

PolicyPage *createGeneralPage(PolicyDocument *doc, QWidget *parent);
PolicyPage *createFilesystemPage(PolicyDocument *doc, QWidget *parent);
PolicyPage *createNetworkPage(PolicyDocument *doc, QWidget *parent);
PolicyPage *createSecretsPage(PolicyDocument *doc, QWidget *parent);
PolicyPage *createEnvironmentPage(PolicyDocument *doc, QWidget *parent);
PolicyPage *createResourcesPage(PolicyDocument *doc, QWidget *parent);
PolicyPage *createPrivilegesPage(PolicyDocument *doc, QWidget *parent);
PolicyPage *createGuardrailsPage(PolicyDocument *doc, QWidget *parent);
PolicyPage *createApprovalsPage(PolicyDocument *doc, QWidget *parent);

} // namespace airlock::ui
