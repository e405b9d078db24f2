// Heads and bodies as the proxy reads them: strict byte checks, libhttp-parser framing, targets and
// routes, the heads written on each side, and masking. Malformed, truncated and oversized input.
#include "egress/httphead.h"
#include "egress/httpmessage.h"
#include "egress/masker.h"
#include "egress/routes.h"

#include <QRandomGenerator>
#include <QTest>

using namespace airlock::egress;

namespace {

// Scans and parses a whole request; the failure's status, or 0 when it is accepted.
int requestStatus(const QByteArray &bytes, RequestHead *out = nullptr, qsizetype *headLength = nullptr)
{
    HeadScanner scanner(HeadScanner::Kind::Request);
    const auto scan = scanner.scan(bytes);
    if (!scan)
        return scan.error().status;
    if (*scan == 0)
        return -1; // incomplete
    HttpMessageParser parser(HttpMessageParser::Kind::Request);
    if (auto parsed = parser.parseHead(QByteArrayView(bytes).first(*scan)); !parsed)
        return parsed.error().status;
    if (out)
        *out = parser.request();
    if (headLength)
        *headLength = *scan;
    return 0;
}

} // namespace

class TestEgressHttp : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void requestHeads_data();
    void requestHeads();
    void truncatedNeverFails();
    void emptyBuffer();
    void byteByByte();
    void oversized_data();
    void oversized();
    void garbageNeverCrashes();
    void bodyFraming_data();
    void bodyFraming();
    void badChunks_data();
    void badChunks();
    void chunksReframed_data();
    void chunksReframed();
    void responseFraming_data();
    void responseFraming();
    void responseHeads_data();
    void responseHeads();
    void targets_data();
    void targets();
    void upstreamHead();
    void responseHead();
    void masker_data();
    void masker();
};

void TestEgressHttp::requestHeads_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<int>("status");
    const QByteArray get = "GET http://a.example/ HTTP/1.1\r\nHost: a.example\r\n";
    QTest::newRow("plain get") << get + "\r\n" << 0;
    QTest::newRow("http/1.0 without host") << QByteArray("GET http://a.example/ HTTP/1.0\r\n\r\n") << 0;
    QTest::newRow("connect") << QByteArray("CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n") << 0;
    QTest::newRow("chunked post") << QByteArray("POST http://a.example/ HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n") << 0;
    QTest::newRow("value with tab") << get + "X-A: a\tb\r\n\r\n" << 0;
    QTest::newRow("obs-text value") << get + "X-A: caf\xc3\xa9\r\n\r\n" << 0;
    // Smuggling: anything two parsers could frame differently.
    QTest::newRow("duplicate content-length") << QByteArray("POST http://a/ HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n") << 400;
    QTest::newRow("differing content-length") << QByteArray("POST http://a/ HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n") << 400;
    QTest::newRow("cl + te") << QByteArray("POST http://a/ HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n") << 400;
    QTest::newRow("te + cl") << QByteArray("POST http://a/ HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n") << 400;
    QTest::newRow("te twice") << QByteArray("POST http://a/ HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n") << 400;
    QTest::newRow("te list") << QByteArray("POST http://a/ HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n") << 501;
    QTest::newRow("te not chunked") << QByteArray("POST http://a/ HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n") << 400;
    QTest::newRow("te in http/1.0") << QByteArray("POST http://a/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n") << 400;
    QTest::newRow("cl with sign") << QByteArray("POST http://a/ HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n") << 400;
    QTest::newRow("cl negative") << QByteArray("POST http://a/ HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n") << 400;
    QTest::newRow("cl list") << QByteArray("POST http://a/ HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\n") << 400;
    QTest::newRow("cl overflow") << QByteArray("POST http://a/ HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n") << 400;
    QTest::newRow("obs-fold") << get + "X-A: one\r\n two\r\n\r\n" << 400;
    QTest::newRow("obs-fold tab") << get + "X-A: one\r\n\ttwo\r\n\r\n" << 400;
    QTest::newRow("bare lf end") << QByteArray("GET http://a/ HTTP/1.1\nHost: a\n\n") << 400;
    QTest::newRow("bare lf header") << get + "X-A: 1\n\r\n" << 400;
    QTest::newRow("bare cr") << get + "X-A: 1\rX-B: 2\r\n\r\n" << 400;
    QTest::newRow("space before colon") << get + "Content-Length : 5\r\n\r\n" << 400;
    QTest::newRow("space in name") << get + "X A: 1\r\n\r\n" << 400;
    QTest::newRow("empty name") << get + ": 1\r\n\r\n" << 400;
    QTest::newRow("no colon") << get + "X-A\r\n\r\n" << 400;
    QTest::newRow("nul in value") << get + QByteArray("X-A: a\0b\r\n\r\n", 13) << 400;
    QTest::newRow("del in value") << get + "X-A: a\x7f\r\n\r\n" << 400;
    QTest::newRow("two hosts") << get + "Host: b.example\r\n\r\n" << 400;
    QTest::newRow("no host in 1.1") << QByteArray("GET http://a/ HTTP/1.1\r\n\r\n") << 400;
    QTest::newRow("http/0.9") << QByteArray("GET /\r\n\r\n") << 400;
    QTest::newRow("http/2") << QByteArray("GET http://a/ HTTP/2.0\r\nHost: a\r\n\r\n") << 505;
    QTest::newRow("prior knowledge h2") << QByteArray("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") << 505;
    QTest::newRow("lowercase version") << QByteArray("GET http://a/ http/1.1\r\nHost: a\r\n\r\n") << 400;
    QTest::newRow("double space") << QByteArray("GET  http://a/ HTTP/1.1\r\nHost: a\r\n\r\n") << 400;
    QTest::newRow("trailing space") << QByteArray("GET http://a/ HTTP/1.1 \r\nHost: a\r\n\r\n") << 400;
    QTest::newRow("space in target") << QByteArray("GET http://a/x y HTTP/1.1\r\nHost: a\r\n\r\n") << 400;
    QTest::newRow("non-ascii target") << QByteArray("GET http://a/\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n") << 400;
    QTest::newRow("unknown method") << QByteArray("BREW http://a/ HTTP/1.1\r\nHost: a\r\n\r\n") << 400;
    QTest::newRow("method not token") << QByteArray("G(T http://a/ HTTP/1.1\r\nHost: a\r\n\r\n") << 400;
    QTest::newRow("tls hello") << QByteArray("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) << 400;
    QTest::newRow("leading space") << QByteArray(" GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n") << 400;
    QTest::newRow("leading empty line") << QByteArray("\r\nGET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n") << 400;
    QTest::newRow("connect with body") << QByteArray("CONNECT a:443 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n") << 400;
}

void TestEgressHttp::requestHeads()
{
    QFETCH(QByteArray, bytes);
    QFETCH(int, status);
    QCOMPARE(requestStatus(bytes), status);
}

void TestEgressHttp::truncatedNeverFails()
{
    // Every proper prefix of a valid head is "need more", never an error and never complete.
    const QByteArray head = "POST http://a.example/x?y=1 HTTP/1.1\r\nHost: a.example\r\nContent-Length: 5\r\n"
                            "X-Long: " + QByteArray(300, 'v') + "\r\n\r\n";
    for (qsizetype n = 0; n < head.size(); ++n)
        QCOMPARE(requestStatus(head.left(n)), -1);
    QCOMPARE(requestStatus(head), 0);
}

void TestEgressHttp::emptyBuffer()
{
    // The proxy scans before its first read, so the first buffer is empty, with no data at all. Found
    // by fuzz_egresshttp: the scan handed that null pointer to memchr (undefined behaviour, which
    // UBSan reports).
    for (const auto kind : {HeadScanner::Kind::Request, HeadScanner::Kind::Response}) {
        HeadScanner scanner(kind);
        const auto scan = scanner.scan(QByteArrayView());
        QVERIFY(scan);
        QCOMPARE(*scan, 0);
        const auto again = scanner.scan(QByteArray());
        QVERIFY(again);
        QCOMPARE(*again, 0);
    }
}

void TestEgressHttp::byteByByte()
{
    const QByteArray head = "GET http://a.example/ HTTP/1.1\r\nHost: a.example\r\nAccept: */*\r\n\r\nNEXT";
    HeadScanner scanner(HeadScanner::Kind::Request);
    QByteArray buf;
    qsizetype found = 0;
    for (const char c : head) {
        buf += c;
        auto r = scanner.scan(buf);
        QVERIFY(r);
        if (*r > 0) {
            found = *r;
            break;
        }
    }
    QCOMPARE(found, head.size() - 4);
}

void TestEgressHttp::oversized_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<int>("status");
    QTest::newRow("long request line") << "GET http://a/" + QByteArray(9000, 'x') + " HTTP/1.1\r\nHost: a\r\n\r\n" << 414;
    QTest::newRow("long line, no end yet") << "GET http://a/" + QByteArray(9000, 'x') << 414;
    QByteArray many = "GET http://a/ HTTP/1.1\r\nHost: a\r\n";
    for (int i = 0; i < 101; ++i)
        many += "X-" + QByteArray::number(i) + ": 1\r\n";
    QTest::newRow("too many headers") << many + "\r\n" << 431;
    QTest::newRow("huge header") << "GET http://a/ HTTP/1.1\r\nHost: a\r\nX-Big: " + QByteArray(70000, 'b') + "\r\n\r\n" << 431;
    QTest::newRow("huge header, no end yet") << "GET http://a/ HTTP/1.1\r\nHost: a\r\nX-Big: " + QByteArray(70000, 'b') << 431;
    QByteArray wide = "GET http://a/ HTTP/1.1\r\nHost: a\r\n";
    for (int i = 0; i < 90; ++i)
        wide += "X-" + QByteArray::number(i) + ": " + QByteArray(800, 'w') + "\r\n";
    QTest::newRow("headers over 64 KiB") << wide + "\r\n" << 431;
}

void TestEgressHttp::oversized()
{
    QFETCH(QByteArray, bytes);
    QFETCH(int, status);
    QCOMPARE(requestStatus(bytes), status);
}

void TestEgressHttp::garbageNeverCrashes()
{
    auto *rng = QRandomGenerator::global();
    const QByteArray seedHead = "POST http://a.example/ HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    for (int round = 0; round < 3000; ++round) {
        QByteArray bytes = seedHead;
        const int edits = 1 + int(rng->bounded(6));
        for (int e = 0; e < edits; ++e)
            bytes[qsizetype(rng->bounded(int(bytes.size())))] = char(rng->bounded(256));
        if (round % 3 == 0)
            bytes = QByteArray(qsizetype(rng->bounded(200)), Qt::Uninitialized);
        for (char &c : bytes)
            if (round % 3 == 0)
                c = char(rng->bounded(256));
        RequestHead head;
        qsizetype length = 0;
        if (requestStatus(bytes, &head, &length) != 0)
            continue;
        HttpMessageParser parser(HttpMessageParser::Kind::Request);
        QVERIFY(parser.parseHead(QByteArrayView(bytes).first(length)));
        (void)parser.feed(QByteArrayView(bytes).sliced(length));
        (void)requestTarget(parser.request());
    }
}

void TestEgressHttp::bodyFraming_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<qsizetype>("messageEnd"); // where the first message ends; -1 while incomplete
    QTest::newRow("no body") << QByteArray("GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\nGET http://b/ HTTP/1.1\r\n") << qsizetype(35);
    QTest::newRow("length") << QByteArray("POST http://a/ HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET") << qsizetype(58);
    QTest::newRow("length incomplete") << QByteArray("POST http://a/ HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nabc") << qsizetype(-1);
    QTest::newRow("chunked") << QByteArray("POST http://a/ HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nNEXT") << qsizetype(77);
    QTest::newRow("chunked with trailer") << QByteArray("POST http://a/ HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\nNEXT") << qsizetype(85);
    QTest::newRow("chunked incomplete") << QByteArray("POST http://a/ HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n") << qsizetype(-1);
    QTest::newRow("connect keeps the rest") << QByteArray("CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n\x16\x03\x01") << qsizetype(35);
}

void TestEgressHttp::bodyFraming()
{
    QFETCH(QByteArray, bytes);
    QFETCH(qsizetype, messageEnd);
    HeadScanner scanner(HeadScanner::Kind::Request);
    const auto head = scanner.scan(bytes);
    QVERIFY(head && *head > 0);
    HttpMessageParser parser(HttpMessageParser::Kind::Request);
    QVERIFY(parser.parseHead(QByteArrayView(bytes).first(*head)));
    // Feed the rest in small pieces, as sockets deliver it.
    qsizetype at = *head;
    while (!parser.complete() && at < bytes.size()) {
        const qsizetype piece = std::min<qsizetype>(2, bytes.size() - at);
        auto used = parser.feed(QByteArrayView(bytes).sliced(at, piece));
        QVERIFY(used);
        at += *used;
        if (*used < piece)
            break;
    }
    QCOMPARE(parser.complete() ? at : qsizetype(-1), messageEnd);
}

void TestEgressHttp::badChunks_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::newRow("not hex") << QByteArray("zz\r\nabc\r\n0\r\n\r\n");
    QTest::newRow("bare lf after size") << QByteArray("3\nabc\r\n0\r\n\r\n");
    QTest::newRow("size overflow") << QByteArray("fffffffffffffffffff\r\n");
}

void TestEgressHttp::badChunks()
{
    QFETCH(QByteArray, body);
    const QByteArray head = "POST http://a/ HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    HttpMessageParser parser(HttpMessageParser::Kind::Request);
    QVERIFY(parser.parseHead(head));
    const auto used = parser.feed(body);
    QVERIFY(!used);
    QCOMPARE(used.error().status, 400);
}

void TestEgressHttp::chunksReframed_data()
{
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QByteArray>("expected");
    QTest::newRow("plain") << QByteArray("3\r\nabc\r\n0\r\n\r\n") << QByteArray("3\r\nabc\r\n0\r\n\r\n");
    QTest::newRow("upper hex, zeros") << QByteArray("000A\r\n0123456789\r\n0\r\n\r\n") << QByteArray("a\r\n0123456789\r\n0\r\n\r\n");
    QTest::newRow("extension dropped") << QByteArray("3;name=value\r\nabc\r\n0\r\n\r\n") << QByteArray("3\r\nabc\r\n0\r\n\r\n");
    // An extension hiding a bare LF, which another parser could take for the end of the size line.
    QTest::newRow("lf in extension") << QByteArray("3;x\n5\r\nabc\r\n0\r\n\r\n") << QByteArray("3\r\nabc\r\n0\r\n\r\n");
    QTest::newRow("trailers dropped") << QByteArray("3\r\nabc\r\n0\r\nX-Sum: 1\r\nX-Other: 2\r\n\r\n") << QByteArray("3\r\nabc\r\n0\r\n\r\n");
}

void TestEgressHttp::chunksReframed()
{
    QFETCH(QByteArray, body);
    QFETCH(QByteArray, expected);
    const QByteArray head = "POST http://a/ HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    // Byte by byte and whole, with a pipelined request behind it that must stay out.
    for (const qsizetype piece : {qsizetype(1), body.size()}) {
        HttpMessageParser parser(HttpMessageParser::Kind::Request);
        QVERIFY(parser.parseHead(head));
        QVERIFY(parser.reframes());
        const QByteArray stream = body + "GET http://b/ HTTP/1.1\r\n\r\n";
        QByteArray out;
        qsizetype at = 0;
        while (!parser.complete()) {
            auto used = parser.feed(QByteArrayView(stream).sliced(at, std::min(piece, stream.size() - at)));
            QVERIFY(used);
            at += *used;
            out += parser.takeOutput();
        }
        QCOMPARE(at, body.size());
        QCOMPARE(out, expected);
    }
}

void TestEgressHttp::responseFraming_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<bool>("head");
    QTest::addColumn<bool>("untilClose");
    QTest::addColumn<bool>("completeAfterHead");
    QTest::addColumn<int>("status");
    QTest::newRow("length") << QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi") << false << false << false << 200;
    QTest::newRow("answer to head") << QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n") << true << false << true << 200;
    QTest::newRow("no content") << QByteArray("HTTP/1.1 204 No Content\r\n\r\n") << false << false << true << 204;
    QTest::newRow("not modified") << QByteArray("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n") << false << false << true << 304;
    QTest::newRow("no content, chunked") << QByteArray("HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n") << false << false << true << 204;
    QTest::newRow("chunked") << QByteArray("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n") << false << false << false << 200;
    QTest::newRow("until close") << QByteArray("HTTP/1.0 200 OK\r\n\r\nbody") << false << true << false << 200;
    QTest::newRow("continue") << QByteArray("HTTP/1.1 100 Continue\r\n\r\n") << false << false << true << 100;
    QTest::newRow("no reason") << QByteArray("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n") << false << false << true << 200;
}

void TestEgressHttp::responseFraming()
{
    QFETCH(QByteArray, bytes);
    QFETCH(bool, head);
    QFETCH(bool, untilClose);
    QFETCH(bool, completeAfterHead);
    QFETCH(int, status);
    HeadScanner scanner(HeadScanner::Kind::Response);
    const auto end = scanner.scan(bytes);
    QVERIFY(end && *end > 0);
    HttpMessageParser parser(HttpMessageParser::Kind::Response);
    parser.reset(head);
    QVERIFY(parser.parseHead(QByteArrayView(bytes).first(*end)));
    QCOMPARE(parser.response().status, status);
    QCOMPARE(parser.response().untilClose, untilClose);
    QCOMPARE(parser.complete(), completeAfterHead);
    if (!completeAfterHead) {
        QVERIFY(parser.feed(QByteArrayView(bytes).sliced(*end)));
        if (untilClose) {
            QVERIFY(!parser.complete());
            QVERIFY(parser.finish());
        }
        QVERIFY(parser.complete());
    }
}

void TestEgressHttp::responseHeads_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::newRow("bad status line") << QByteArray("HTTP/1.1 2000 OK\r\n\r\n");
    QTest::newRow("http/2 status") << QByteArray("HTTP/2 200 OK\r\n\r\n");
    QTest::newRow("switching protocols") << QByteArray("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n");
    QTest::newRow("double length") << QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
    QTest::newRow("obs-fold") << QByteArray("HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\n\r\n");
    QTest::newRow("bare lf") << QByteArray("HTTP/1.1 200 OK\nContent-Length: 0\n\n");
    QTest::newRow("status 600") << QByteArray("HTTP/1.1 600 Odd\r\n\r\n");
}

void TestEgressHttp::responseHeads()
{
    QFETCH(QByteArray, bytes);
    HeadScanner scanner(HeadScanner::Kind::Response);
    const auto end = scanner.scan(bytes);
    if (!end) {
        QCOMPARE(end.error().status, 502);
        return;
    }
    QVERIFY(*end > 0);
    HttpMessageParser parser(HttpMessageParser::Kind::Response);
    const auto parsed = parser.parseHead(QByteArrayView(bytes).first(*end));
    QVERIFY(!parsed);
    QCOMPARE(parsed.error().status, 502);
}

void TestEgressHttp::targets_data()
{
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<int>("status"); // 0: accepted
    QTest::addColumn<QString>("route");
    QTest::addColumn<QString>("host");
    QTest::addColumn<int>("port");
    QTest::addColumn<QByteArray>("path");
    // Host names what the target names, as a client sends it (the proxy refuses a mismatch).
    const auto req = [](const char *method, const char *target, const char *host = nullptr) -> QByteArray {
        QByteArray h = host ? QByteArray(host) : QByteArray(target);
        if (!host) {
            if (const qsizetype scheme = h.indexOf("://"); scheme >= 0)
                h = h.mid(scheme + 3);
            if (const qsizetype at = h.indexOf('@'); at >= 0)
                h = h.mid(at + 1);
            h = h.left(std::min<qsizetype>(h.indexOf('/') < 0 ? h.size() : h.indexOf('/'),
                                           h.indexOf('#') < 0 ? h.size() : h.indexOf('#')));
            if (h.isEmpty() || h.startsWith('*'))
                h = "x";
        }
        return QByteArray(method) + ' ' + target + " HTTP/1.1\r\nHost: " + h + "\r\n\r\n";
    };
    QTest::newRow("absolute") << req("GET", "http://API.Example.com/a?b=1") << 0 << "http" << "api.example.com" << 80 << QByteArray("/a?b=1");
    QTest::newRow("absolute port") << req("GET", "http://a.example:8080") << 0 << "http" << "a.example" << 8080 << QByteArray("/");
    QTest::newRow("absolute ipv6") << req("GET", "http://[::1]:81/x") << 0 << "http" << "::1" << 81 << QByteArray("/x");
    QTest::newRow("trailing dot") << req("GET", "http://a.example./") << 0 << "http" << "a.example" << 80 << QByteArray("/");
    QTest::newRow("fragment dropped") << req("GET", "http://a.example/p#frag") << 0 << "http" << "a.example" << 80 << QByteArray("/p");
    QTest::newRow("connect") << req("CONNECT", "a.example:443") << 0 << "connect" << "a.example" << 443 << QByteArray();
    QTest::newRow("route by name") << req("POST", "http://api.anthropic.com.airlock/v1/messages") << 0 << "tls-route" << "api.anthropic.com" << 443 << QByteArray("/v1/messages");
    QTest::newRow("route by name, port") << req("GET", "http://api.test.airlock:8443/x") << 0 << "tls-route" << "api.test" << 8443 << QByteArray("/x");
    QTest::newRow("route by path") << req("GET", "/airlock/api.test/v1/x?y") << 0 << "tls-route" << "api.test" << 443 << QByteArray("/v1/x?y");
    QTest::newRow("route by path, port") << req("GET", "/airlock/api.test:9443") << 0 << "tls-route" << "api.test" << 9443 << QByteArray("/");
    QTest::newRow("route path query") << req("GET", "/airlock/api.test?q=1") << 0 << "tls-route" << "api.test" << 443 << QByteArray("/?q=1");
    QTest::newRow("https url") << req("GET", "https://a.example/") << 400 << "" << "" << 0 << QByteArray();
    QTest::newRow("ftp url") << req("GET", "ftp://a.example/") << 400 << "" << "" << 0 << QByteArray();
    QTest::newRow("user info") << req("GET", "http://user:pw@a.example/") << 400 << "" << "" << 0 << QByteArray();
    QTest::newRow("origin form") << req("GET", "/index.html") << 400 << "" << "" << 0 << QByteArray();
    QTest::newRow("asterisk") << req("OPTIONS", "*") << 400 << "" << "" << 0 << QByteArray();
    QTest::newRow("connect without port") << req("CONNECT", "a.example") << 400 << "" << "" << 0 << QByteArray();
    QTest::newRow("connect port 0") << req("CONNECT", "a.example:0") << 400 << "" << "" << 0 << QByteArray();
    QTest::newRow("connect port too big") << req("CONNECT", "a.example:65536") << 400 << "" << "" << 0 << QByteArray();
    QTest::newRow("route to nothing") << req("GET", "http://.airlock/") << 400 << "" << "" << 0 << QByteArray();
    QTest::newRow("route path without host") << req("GET", "/airlock//x") << 400 << "" << "" << 0 << QByteArray();
    QTest::newRow("route path with user") << req("GET", "/airlock/u@api.test/x") << 400 << "" << "" << 0 << QByteArray();
    QTest::newRow("bad host") << req("GET", "http://a_b-.example/") << 400 << "" << "" << 0 << QByteArray();
    // A Host header naming another host than the target is refused; spellings of the same host are not.
    QTest::newRow("host mismatch") << req("GET", "http://a.example/", "b.example") << 400 << "" << "" << 0 << QByteArray();
    QTest::newRow("host mismatch, route") << req("GET", "http://api.test.airlock/", "api.test") << 400 << "" << "" << 0 << QByteArray();
    QTest::newRow("host mismatch, literal") << req("GET", "http://a.example/", "127.0.0.1") << 400 << "" << "" << 0 << QByteArray();
    QTest::newRow("host mismatch, connect") << req("CONNECT", "a.example:443", "b.example:443") << 400 << "" << "" << 0 << QByteArray();
    QTest::newRow("host spelled differently") << req("GET", "http://a.example/", "A.Example.:80") << 0 << "http" << "a.example" << 80 << QByteArray("/");
    QTest::newRow("host decimal literal") << req("GET", "http://127.0.0.1:81/", "2130706433:81") << 0 << "http" << "127.0.0.1" << 81 << QByteArray("/");
    QTest::newRow("host without port") << req("CONNECT", "a.example:443", "a.example") << 0 << "connect" << "a.example" << 443 << QByteArray();
}

void TestEgressHttp::targets()
{
    QFETCH(QByteArray, request);
    QFETCH(int, status);
    QFETCH(QString, route);
    QFETCH(QString, host);
    QFETCH(int, port);
    QFETCH(QByteArray, path);
    RequestHead head;
    const int parsed = requestStatus(request, &head);
    if (parsed != 0) {
        QCOMPARE(parsed, status);
        return;
    }
    const auto target = requestTarget(head);
    if (status != 0) {
        QVERIFY(!target);
        QCOMPARE(target.error().status, status);
        QVERIFY(!target.error().message.isEmpty());
        return;
    }
    QVERIFY2(target, qPrintable(target ? QString() : target.error().message));
    QCOMPARE(routeName(target->route), route);
    QCOMPARE(target->host, host);
    QCOMPARE(int(target->port), port);
    QCOMPARE(target->path, path);
}

void TestEgressHttp::upstreamHead()
{
    RequestHead head;
    QCOMPARE(requestStatus("POST http://api.test.airlock/v1 HTTP/1.1\r\nHost: API.test.airlock:80\r\n"
                           "Proxy-Authorization: Basic eA==\r\nProxy-Connection: keep-alive\r\n"
                           "Connection: keep-alive, X-Hop, Content-Length\r\nX-Hop: 1\r\nKeep-Alive: 5\r\n"
                           "TE: trailers\r\nX-Api-Key: agent-fake\r\nContent-Length: 2\r\nAccept: */*\r\n\r\n",
                           &head),
             0);
    const auto target = requestTarget(head);
    QVERIFY(target);
    const QByteArray out = upstreamRequestHead(head, *target, {Header{"x-api-key", "sk-real"}});
    QVERIFY(out.startsWith("POST /v1 HTTP/1.1\r\nHost: api.test\r\n"));
    for (const char *gone : {"Proxy-Authorization", "Proxy-Connection", "X-Hop", "Keep-Alive", "TE:", "agent-fake",
                             "evil.example", "keep-alive"})
        QVERIFY2(!out.contains(gone), gone);
    QVERIFY(out.contains("Content-Length: 2\r\n")); // a Connection token cannot strip the framing
    QVERIFY(out.contains("Accept: */*\r\n"));
    QCOMPARE(out.count("sk-real"), 1);
    QVERIFY(out.endsWith("x-api-key: sk-real\r\nConnection: close\r\n\r\n"));
}

void TestEgressHttp::responseHead()
{
    const QByteArray bytes = "HTTP/1.1 200 OK\r\nConnection: close, X-Drop\r\nX-Drop: 1\r\nKeep-Alive: 1\r\n"
                             "Content-Length: 2\r\nX-Keep: 1\r\n\r\n";
    HttpMessageParser parser(HttpMessageParser::Kind::Response);
    QVERIFY(parser.parseHead(bytes));
    QVERIFY(!parser.response().keepAlive);
    const QByteArray out = clientResponseHead(parser.response(), true);
    QCOMPARE(out, QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Keep: 1\r\nConnection: keep-alive\r\n\r\n"));
}

void TestEgressHttp::masker_data()
{
    QTest::addColumn<QList<QByteArray>>("secrets");
    QTest::addColumn<QByteArray>("stream");
    QTest::addColumn<QByteArray>("expected");
    QTest::newRow("none") << QList<QByteArray>{"sk-secret-1"} << QByteArray("nothing here") << QByteArray("nothing here");
    QTest::newRow("one") << QList<QByteArray>{"sk-secret-1"} << QByteArray("key=sk-secret-1;") << QByteArray("key=***********;");
    QTest::newRow("twice") << QList<QByteArray>{"abcd1234"} << QByteArray("abcd1234abcd1234") << QByteArray(16, '*');
    QTest::newRow("two secrets") << QList<QByteArray>{"first-key", "second-key"} << QByteArray("first-key second-key")
                                 << QByteArray("********* **********");
    QTest::newRow("prefix at end") << QList<QByteArray>{"sk-secret-1"} << QByteArray("ends with sk-sec") << QByteArray("ends with sk-sec");
    QTest::newRow("short ignored") << QList<QByteArray>{"abc"} << QByteArray("abc") << QByteArray("abc");
}

void TestEgressHttp::masker()
{
    QFETCH(QList<QByteArray>, secrets);
    QFETCH(QByteArray, stream);
    QFETCH(QByteArray, expected);
    // Every split into pieces of 1..7 bytes gives the same output, and lengths never change.
    for (int piece = 1; piece <= 7; ++piece) {
        Masker m(secrets);
        QByteArray out;
        for (qsizetype at = 0; at < stream.size(); at += piece)
            out += m.process(QByteArrayView(stream).sliced(at, std::min<qsizetype>(piece, stream.size() - at)));
        out += m.flush();
        QCOMPARE(out, expected);
    }
}

QTEST_GUILESS_MAIN(TestEgressHttp)
#include "tst_egress_http.moc"
