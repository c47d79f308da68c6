#include <catch2/catch.hpp>

#include "dns/wire/message.hpp"
#include "dns/wire/tsig.hpp"
#include "util/strings.hpp"

using namespace certpilot::dns::wire;
using certpilot::util::Errc;
using certpilot::util::SecretString;

namespace {
std::string unhex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}
std::string hex(std::string_view s) { return certpilot::util::hex_encode(s); }
}  // namespace

TEST_CASE("a message survives encode and decode", "[dns]") {
  Message m = make_query("_acme-challenge.www.a.test", type::kTxt, false);
  m.header.opcode = opcode::kUpdate;
  m.answers.push_back({"www.a.test", type::kTxt, klass::kIn, 60, make_txt_rdata("hello"), 0});
  m.authority.push_back({"a.test", type::kSoa, klass::kIn, 300, {}, 0});
  Soa soa{"ns1.a.test", "hostmaster.a.test", 7, 1, 2, 3, 4};
  std::string soa_rdata = encode_name(soa.mname).value() + encode_name(soa.rname).value() + std::string(20, '\0');
  m.authority.back().rdata = soa_rdata;
  m.additional.push_back({"a.test", type::kCaa, klass::kIn, 1, make_caa_rdata({0, "issue", "ca.test"}), 0});

  auto wire_bytes = encode(m);
  REQUIRE(wire_bytes);
  auto back = decode(*wire_bytes);
  REQUIRE(back);
  CHECK(back->header.id == m.header.id);
  CHECK(back->header.opcode == opcode::kUpdate);
  CHECK_FALSE(back->header.rd);
  REQUIRE(back->questions.size() == 1);
  CHECK(back->questions[0].name == "_acme-challenge.www.a.test");
  CHECK(back->questions[0].type == type::kTxt);
  CHECK(parse_txt(back->answers.at(0).rdata).value() == "hello");
  CHECK(parse_soa(back->authority.at(0).rdata).value().mname == "ns1.a.test");
  auto caa = parse_caa(back->additional.at(0).rdata).value();
  CHECK(caa.tag == "issue");
  CHECK(caa.value == "ca.test");
  CHECK_FALSE(caa.critical());
  CHECK(describe(back->answers[0]) == "www.a.test. 60 IN TXT \"hello\"");
}

TEST_CASE("decode expands compressed names, also inside rdata", "[dns]") {
  // header: 1 question, 2 answers. Question a.test/NS. Answers: a.test NS ns1.<ptr a.test>,
  // <ptr> CNAME <ptr ns1.a.test>.
  std::string msg = unhex("0001" "8400" "0001" "0002" "0000" "0000");
  msg += unhex("016104746573740000020001");  // offset 12: a.test NS IN
  msg += unhex("c00c" "0002" "0001" "0000012c" "0006" "036e7331c00c");  // ns1 at offset 36
  msg += unhex("c00c" "0005" "0001" "0000012c" "0002" "c024");
  auto m = decode(msg);
  REQUIRE(m);
  CHECK(parse_name_rdata(m->answers.at(0).rdata).value() == "ns1.a.test");
  CHECK(parse_name_rdata(m->answers.at(1).rdata).value() == "ns1.a.test");
  CHECK(m->answers.at(1).name == "a.test");
}

TEST_CASE("decode rejects malformed messages", "[dns]") {
  const std::string good = encode(make_query("a.test", type::kTxt, true)).value();
  SECTION("every truncation") {
    for (std::size_t n = 0; n < good.size(); ++n) {
      auto m = decode(std::string_view(good).substr(0, n));
      CHECK_FALSE(m);
      if (!m) CHECK(m.error().code == Errc::dns);
    }
  }
  SECTION("trailing bytes") { CHECK_FALSE(decode(good + "x")); }
  SECTION("forward and self compression pointers") {
    std::string msg = unhex("000100000001000000000000" "c00c00010001");
    CHECK_FALSE(decode(msg));
    msg = unhex("000100000001000000000000" "c01000010001" "00");
    CHECK_FALSE(decode(msg));
  }
  SECTION("a pointer loop built from backward pointers ends at the name length limit") {
    std::string msg = unhex("000100000001000000000000" "0161c00c00010001");
    CHECK_FALSE(decode(msg));
  }
  SECTION("reserved label type") { CHECK_FALSE(decode(unhex("000100000001000000000000" "4000010001"))); }
  SECTION("rdata length past the end") {
    std::string msg = unhex("000100000000000100000000" "00" "0010" "0001" "00000000" "0005" "0161");
    CHECK_FALSE(decode(msg));
  }
  SECTION("NS rdata whose name is shorter than rdlength") {
    std::string msg = unhex("000100000000000100000000" "00" "0002" "0001" "00000000" "0003" "00" "0000");
    CHECK_FALSE(decode(msg));
  }
}

TEST_CASE("rdata parsers reject malformed input", "[dns]") {
  CHECK_FALSE(parse_txt(""));
  CHECK_FALSE(parse_txt(unhex("0561")));
  CHECK(parse_txt(unhex("0161" "0162")).value() == "ab");
  CHECK_FALSE(parse_caa(""));
  CHECK_FALSE(parse_caa(unhex("00")));
  CHECK_FALSE(parse_caa(unhex("0000")));      // empty tag
  CHECK_FALSE(parse_caa(unhex("0005697373")));  // tag past the end
  CHECK_FALSE(parse_caa(unhex("00022d21")));  // non-alphanumeric tag
  CHECK(parse_caa(unhex("8005697373756561")).value().critical());
  CHECK_FALSE(parse_soa(encode_name("a.test").value()));
  CHECK_FALSE(parse_a("abc"));
  CHECK(parse_a(unhex("7f000001")).value() == "127.0.0.1");
  CHECK_FALSE(parse_aaaa(unhex("7f000001")));
  CHECK(parse_aaaa(unhex("00000000000000000000000000000001")).value() == "::1");
  CHECK_FALSE(parse_name_rdata(unhex("0161")));
  CHECK_FALSE(parse_name_rdata(encode_name("a").value() + "x"));
}

TEST_CASE("TXT values over 255 bytes are split into character-strings and joined back", "[dns]") {
  const std::string v(600, 'x');
  const std::string rdata = make_txt_rdata(v);
  CHECK(rdata.size() == 603);
  CHECK(parse_txt(rdata).value() == v);
  CHECK(make_txt_rdata("") == std::string(1, '\0'));
}

TEST_CASE("names: limits, case and zones", "[dns]") {
  CHECK_FALSE(encode_name("a..b"));
  CHECK_FALSE(encode_name(std::string(64, 'a') + ".test"));
  std::string long_name;
  for (int i = 0; i < 60; ++i) long_name += "abcd.";
  CHECK_FALSE(encode_name(long_name));
  CHECK(encode_name("").value() == std::string(1, '\0'));
  CHECK(encode_name("a.test.").value() == encode_name("a.test").value());
  CHECK(same_name("WWW.A.Test.", "www.a.test"));
  CHECK(is_subdomain("x.www.a.test", "a.test"));
  CHECK(is_subdomain("a.test", "A.TEST."));
  CHECK_FALSE(is_subdomain("xa.test", "a.test"));
  CHECK(is_subdomain("anything", ""));
  CHECK(rcode_name(rcode::kNotAuth) == "NOTAUTH");
  CHECK(rcode_name(rcode::kBadSig) == "BADSIG");
  CHECK(type_name(type::kCaa) == "CAA");
}

TEST_CASE("TSIG signing matches an independently computed MAC (RFC 8945 §4.3.3)", "[dns]") {
  // Vector computed with Python's hmac module over the digest components of RFC 8945 §4.3.3.
  const std::string msg = unhex("123428000001000000000000016104746573740000060001");
  auto key = make_tsig_key("test-key", "hmac-sha256", SecretString("c2VjcmV0c2VjcmV0c2VjcmV0"));
  REQUIRE(key);
  auto signed_msg = tsig_sign(msg, *key, 1700000000, 300);
  REQUIRE(signed_msg);
  CHECK(hex(signed_msg->mac) == "a3d2f15a38e25921c46b28bcc668f34db74b8ddbbeb9ca95728253e5f0e8e4c4");
  auto decoded = decode(signed_msg->wire);
  REQUIRE(decoded);
  auto tsig = find_tsig(*decoded);
  REQUIRE(tsig);
  CHECK(tsig->key_name == "test-key");
  CHECK(tsig->algorithm == "hmac-sha256");
  CHECK(tsig->time_signed == 1700000000);
  CHECK(tsig->original_id == 0x1234);
  CHECK(tsig->mac == signed_msg->mac);

  auto md5 = make_tsig_key("test-key", "hmac-md5", SecretString("c2VjcmV0c2VjcmV0c2VjcmV0"));
  REQUIRE(md5);
  CHECK(hex(tsig_sign(msg, *md5, 1700000000, 300).value().mac) == "fe1bdf4ede3a08a9565f902edb5c6576");
}

TEST_CASE("TSIG verifies a signed answer and rejects tampering, wrong keys and old times", "[dns]") {
  auto key = make_tsig_key("test-key", "hmac-sha256", SecretString("c2VjcmV0c2VjcmV0c2VjcmV0")).value();
  const std::string request_mac = unhex("a3d2f15a38e25921c46b28bcc668f34db74b8ddbbeb9ca95728253e5f0e8e4c4");
  // Answer signed with Python (request MAC + answer + TSIG variables), time 1700000001.
  const std::string answer = unhex(
      "1234a800000100000000000101610474657374000006000108746573742d6b65790000fa00ff00000000003d0b686d61632d7368"
      "613235360000006553f101012c0020f0af6a112c3f5611fbbec6cbf089a4c4b46265353cd8090b0a6247832a3ef13b123400000000");
  CHECK(tsig_verify_response(answer, key, request_mac, 1700000010));

  std::string tampered = answer;
  tampered[3] = 0x03;  // rcode NXDOMAIN
  CHECK_FALSE(tsig_verify_response(tampered, key, request_mac, 1700000010));
  CHECK_FALSE(tsig_verify_response(answer, key, std::string(32, 'x'), 1700000010));
  auto bad = tsig_verify_response(answer, key, request_mac, 1700001000);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("BADTIME") != std::string::npos);
  auto other_key = make_tsig_key("test-key", "hmac-sha256", SecretString("b3RoZXJvdGhlcm90aGVy")).value();
  CHECK_FALSE(tsig_verify_response(answer, other_key, request_mac, 1700000010));
  auto unsigned_answer = tsig_verify_response(unhex("1234a800000100000000000001610474657374000006000"
                                                    "1"), key, request_mac, 1700000010);
  REQUIRE_FALSE(unsigned_answer);
  CHECK(unsigned_answer.error().message.find("not signed") != std::string::npos);
}

TEST_CASE("TSIG keys: algorithms and secrets", "[dns]") {
  CHECK(parse_tsig_algorithm("HMAC-SHA512.").value() == TsigAlgorithm::hmac_sha512);
  CHECK(parse_tsig_algorithm("hmac-md5.sig-alg.reg.int").value() == TsigAlgorithm::hmac_md5);
  auto bad_alg = parse_tsig_algorithm("hmac-sha3");
  REQUIRE_FALSE(bad_alg);
  CHECK(bad_alg.error().code == Errc::invalid_input);
  auto bad_secret = make_tsig_key("k", "hmac-sha256", SecretString("not base64 !!! topsecret"));
  REQUIRE_FALSE(bad_secret);
  CHECK(bad_secret.error().message.find("topsecret") == std::string::npos);
  CHECK_FALSE(make_tsig_key("", "hmac-sha256", SecretString("c2VjcmV0")));
  CHECK_FALSE(parse_tsig_rdata(unhex("0b686d61632d73686132353600")));
}
