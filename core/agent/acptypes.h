#pragma once

#include <QJsonArray>
#include <QJsonObject>
#include <QJsonValue>
#include <QList>
#include <QMetaType>
#include <QString>
#include <QStringList>

#include <optional>
#include <variant>

// The Agent Client Protocol, version 1, as typed values: what the client sends, what the agent
// answers and every session/update it streams. Field names follow the protocol's schema
// (@agentclientprotocol/sdk, schema/schema.json); `raw` keeps the JSON as it came, for the store.
namespace airlock::agent::acp {

inline constexpr int ProtocolVersion = 1;

enum class ToolKind { Read, Edit, Delete, Move, Search, Execute, Think, Fetch, SwitchMode, Other };
enum class ToolStatus { Pending, InProgress, Completed, Failed };
enum class PlanPriority { High, Medium, Low };
enum class PlanStatus { Pending, InProgress, Completed };
enum class StopReason { EndTurn, MaxTokens, MaxTurnRequests, Refusal, Cancelled };
enum class PermissionKind { AllowOnce, AllowAlways, RejectOnce, RejectAlways };

QString nameOf(ToolKind v);
QString nameOf(ToolStatus v);
QString nameOf(PlanPriority v);
QString nameOf(PlanStatus v);
QString nameOf(StopReason v);
QString nameOf(PermissionKind v);
std::optional<ToolKind> toolKindFrom(const QString &s);
std::optional<ToolStatus> toolStatusFrom(const QString &s);
std::optional<PlanPriority> planPriorityFrom(const QString &s);
std::optional<PlanStatus> planStatusFrom(const QString &s);
std::optional<StopReason> stopReasonFrom(const QString &s);
std::optional<PermissionKind> permissionKindFrom(const QString &s);

// One piece of content: text, an image, audio, a link to a resource, or an embedded resource.
struct ContentBlock {
    enum class Type { Text, Image, Audio, ResourceLink, Resource, Unknown };
    Type type = Type::Text;
    QString text;      // Text; Resource with text contents
    QString uri;       // ResourceLink, Resource; Image (optional)
    QString name;      // ResourceLink
    QString title;     // ResourceLink (optional)
    QString description; // ResourceLink (optional)
    QString mimeType;  // Image, Audio (required); ResourceLink, Resource (optional)
    QString data;      // Image, Audio, Resource with blob contents: base64
    std::optional<qint64> size; // ResourceLink
    QString unknownType; // Unknown: the type as sent
    QJsonObject raw;

    static ContentBlock fromText(const QString &text);
    static ContentBlock fromResourceLink(const QString &uri, const QString &name, const QString &mimeType = {});
    QJsonObject toJson() const;
    // Text for a transcript: the text itself, or a short description of what is not text.
    QString displayText() const;
};

struct ToolCallLocation {
    QString path;
    std::optional<quint32> line;
};

// What a tool call shows: content, a file diff, or a live terminal (by the client's terminal id).
struct ToolCallContent {
    enum class Type { Content, Diff, Terminal };
    Type type = Type::Content;
    ContentBlock content;          // Content
    QString path;                  // Diff
    std::optional<QString> oldText; // Diff: absent for a new file
    QString newText;               // Diff
    QString terminalId;            // Terminal
};

struct ToolCall {
    QString id;
    QString title;
    ToolKind kind = ToolKind::Other;
    ToolStatus status = ToolStatus::Pending;
    QList<ToolCallContent> content;
    QList<ToolCallLocation> locations;
    QJsonValue rawInput;  // undefined when not given
    QJsonValue rawOutput;
};

// A change to a tool call: only the fields that are set change.
struct ToolCallUpdate {
    QString id;
    std::optional<QString> title;
    std::optional<ToolKind> kind;
    std::optional<ToolStatus> status;
    std::optional<QList<ToolCallContent>> content; // replaces the whole list
    std::optional<QList<ToolCallLocation>> locations;
    std::optional<QJsonValue> rawInput;
    std::optional<QJsonValue> rawOutput;

    void applyTo(ToolCall &call) const;
};

struct PlanEntry {
    QString content;
    PlanPriority priority = PlanPriority::Medium;
    PlanStatus status = PlanStatus::Pending;
};

struct AvailableCommand {
    QString name;
    QString description;
    QString inputHint; // empty when the command takes no input
};

struct SessionMode {
    QString id;
    QString name;
    QString description;
};

struct SessionModeState {
    QString currentModeId;
    QList<SessionMode> availableModes;
};

struct ConfigChoice {
    QString value;
    QString name;
    QString description;
    QString group; // the group's id when the choices come grouped
};

struct ConfigOption {
    enum class Type { Select, Boolean };
    QString id;
    QString name;
    QString description;
    QString category;
    Type type = Type::Select;
    QString currentValue;      // Select
    bool currentBool = false;  // Boolean
    QList<ConfigChoice> choices;
};

struct Cost {
    double amount = 0;
    QString currency;
};

// usage_update: how full the context window is, and what the session has cost so far.
struct ContextUsage {
    quint64 used = 0;
    quint64 size = 0;
    std::optional<Cost> cost;
};

// The token counts a prompt response may carry.
struct TurnUsage {
    quint64 totalTokens = 0;
    quint64 inputTokens = 0;
    quint64 outputTokens = 0;
    std::optional<quint64> thoughtTokens;
    std::optional<quint64> cachedReadTokens;
    std::optional<quint64> cachedWriteTokens;
};

struct MessageChunk {
    ContentBlock content;
    QString messageId;
};
struct Plan {
    QList<PlanEntry> entries;
};
struct AvailableCommands {
    QList<AvailableCommand> commands;
};
struct CurrentMode {
    QString modeId;
};
struct ConfigOptions {
    QList<ConfigOption> options;
};
// Missing fields leave the value as it was; a null title clears it (title is then set and empty).
struct SessionInfo {
    std::optional<QString> title;
    std::optional<QString> updatedAt;
};
struct UnknownUpdate {
    QString kind;
};

// One session/update notification.
struct SessionUpdate {
    enum class Kind {
        UserMessageChunk,
        AgentMessageChunk,
        AgentThoughtChunk,
        ToolCall,
        ToolCallUpdate,
        Plan,
        AvailableCommands,
        CurrentMode,
        ConfigOptions,
        SessionInfo,
        Usage,
        Unknown, // a kind this build does not know: reported, never fatal
    };
    QString sessionId;
    Kind kind = Kind::Unknown;
    std::variant<UnknownUpdate, MessageChunk, acp::ToolCall, acp::ToolCallUpdate, acp::Plan, AvailableCommands,
                 CurrentMode, ConfigOptions, SessionInfo, ContextUsage>
        data;
    QJsonObject raw;      // the "update" object as sent
    QStringList warnings; // optional fields that were ignored because their value was malformed

    QString kindName() const; // the protocol's name: "agent_message_chunk" …
};

std::optional<SessionUpdate::Kind> updateKindFrom(const QString &s);

struct PermissionOption {
    QString id;
    QString name;
    PermissionKind kind = PermissionKind::RejectOnce;
};

// session/request_permission: the agent asks before running a tool call.
struct PermissionRequest {
    QString sessionId;
    ToolCallUpdate toolCall;
    QList<PermissionOption> options;
    QJsonObject raw;
};

// The answer: one of the offered options, or cancelled (the prompt turn was cancelled).
struct PermissionOutcome {
    bool cancelled = false;
    QString optionId;

    static PermissionOutcome select(const QString &optionId) { return {false, optionId}; }
    static PermissionOutcome cancel() { return {true, {}}; }
    QJsonObject toJson() const;
};

struct ReadTextFileRequest {
    QString sessionId;
    QString path; // absolute
    std::optional<quint32> line; // 1-based first line
    std::optional<quint32> limit; // at most this many lines
};

struct WriteTextFileRequest {
    QString sessionId;
    QString path; // absolute
    QString content;
};

struct EnvVariable {
    QString name;
    QString value;
};

struct CreateTerminalRequest {
    QString sessionId;
    QString command;
    QStringList args;
    QList<EnvVariable> env;
    QString cwd; // absolute, or empty for the session's
    std::optional<quint64> outputByteLimit;
};

// terminal/output, terminal/wait_for_exit, terminal/kill and terminal/release name a terminal.
struct TerminalRequest {
    QString sessionId;
    QString terminalId;
};

struct TerminalExitStatus {
    std::optional<quint32> exitCode;
    QString signal; // empty when it was not killed by a signal
    QJsonObject toJson() const;
};

struct TerminalOutput {
    QString output;
    bool truncated = false;
    std::optional<TerminalExitStatus> exitStatus;
    QJsonObject toJson() const;
};

struct ClientCapabilities {
    bool readTextFile = true;
    bool writeTextFile = true;
    bool terminal = true;
    QJsonObject toJson() const;
};

struct Implementation {
    QString name;
    QString title;
    QString version;
};

struct AuthMethod {
    QString id;
    QString name;
    QString description;
    QString type;      // "env_var": the agent reads the key from the variables below; empty: its own flow
    QStringList vars;  // for env_var
};

struct AgentCapabilities {
    bool loadSession = false;
    bool promptImage = false;
    bool promptAudio = false;
    bool promptEmbeddedContext = false;
    bool mcpHttp = false;
    bool mcpSse = false;
    QJsonObject raw;
};

struct InitializeResult {
    int protocolVersion = 0;
    AgentCapabilities capabilities;
    QList<AuthMethod> authMethods;
    std::optional<Implementation> agentInfo;
    QJsonObject raw;
};

struct SessionSetup {
    QString sessionId;
    std::optional<SessionModeState> modes;
    QList<ConfigOption> configOptions;
    QJsonObject raw;
};

struct PromptResult {
    StopReason stopReason = StopReason::EndTurn;
    std::optional<TurnUsage> usage;
    QJsonObject raw;
};

} // namespace airlock::agent::acp

Q_DECLARE_METATYPE(airlock::agent::acp::SessionUpdate)
Q_DECLARE_METATYPE(airlock::agent::acp::ToolCall)
Q_DECLARE_METATYPE(airlock::agent::acp::PermissionRequest)
