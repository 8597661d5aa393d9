/* JWK Sets: which keys are kept (RSA >= 2048 and EC P-256 signing keys) and which are
 * skipped; lookup by kid and algorithm; malformed sets refused with a sentence. */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "common/jwks.h"

/* Fixtures made by node's crypto (generateKeyPairSync, export format "jwk"). */
#define RSA_N \
    "trJvCN8474k-R33XMqiPuB3G1Cem93XXxwnW9XAtPx7J9CtIEKMKz0fiEDh8QEaLGqKKy8xy6nbt" \
    "TC89OUSH6-UXaBHjuiV_aylFtE_SE6mPkVj9S0Bj1cqR0QsbDClsL7jl5DbPKl1_veFD_-ug3-F7" \
    "RaqULNH0broytKwfUZXgGhncNEWBzCHNV-roJ7-v9PH5TY2Mk-4KR8VRlJaFPx151g6ZG5gqucRd" \
    "koYH5kbNDQOSZbJwnm0__0RvrpjJTJaJ5z9OSFNkvNzyjUxChIDLqW2BdxLTKVw8yNarKG5BYRgt" \
    "ox9w4PZIf29l5TdScih2IGBaejPIHuMUp4zvEQ"
#define EC_X \
    "3fGINFdL4bDIhAjFY57fhvmMEuH0LsoA0gyCAD09j0k"
#define EC_Y \
    "-ZkFbbQ2fkVGgY1hcQEEcz88TwYf7HxaWlN-b4cD_P4"
#define EC_Y_OFF_CURVE \
    "-ZkFbbQ2fkVGgY1hcQEEcz88TwYf7HxaWlN-b4cD_A4"
#define SMALL_N \
    "-uZ-ocXLWMUj84dNvoHvwbaTXOzN-8WQC86I8SNdmZf3Y1tCIAO04jggYL-FzxoyeCxGPR-zHvfR" \
    "WpY6j03D3jKxmA0YVGBqspPHj8WnUX5H9qqStF0q7uptwJ5555QGv-Ar7vjuG2mwUbhrXtLHKZ15" \
    "0H6TtbC2ZfhRzmZPsEk"

#define RSA(kid, extra) "{\"kty\":\"RSA\",\"kid\":\"" kid "\",\"n\":\"" RSA_N "\",\"e\":\"AQAB\"" extra "}"
#define EC(kid, y, extra) "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"" kid "\",\"x\":\"" EC_X "\",\"y\":\"" y "\"" extra "}"

static rc_jwks *parse(const char *json, size_t *skipped, int want)
{
    rc_jwks *set = NULL;
    char err[RC_ERRSTR_LEN] = "";
    int r = rc_jwks_parse(json, strlen(json), &set, skipped, err, sizeof err);
    CHECK_EQ(r, want);
    if (r != want)
        fprintf(stderr, "  %s\n", err);
    return set;
}

static void kept_and_skipped(void)
{
    size_t skipped = 0;
    const char *json = "{\"keys\":[" RSA("r1", ",\"use\":\"sig\",\"alg\":\"RS256\"") ","
                       EC("e1", EC_Y, ",\"key_ops\":[\"verify\"]") ","
                       "{\"kty\":\"oct\",\"kid\":\"h1\",\"k\":\"c2VjcmV0\"}," /* an HMAC secret */
                       RSA("enc", ",\"use\":\"enc\"") ","                     /* encryption */
                       RSA("ps", ",\"alg\":\"PS256\"") ","                    /* another alg */
                       EC("sign-only", EC_Y, ",\"key_ops\":[\"sign\"]") ","
                       EC("off", EC_Y_OFF_CURVE, "") ","
                       "{\"kty\":\"RSA\",\"kid\":\"small\",\"n\":\"" SMALL_N "\",\"e\":\"AQAB\"},"
                       RSA("r1", "") ","                                      /* duplicate kid */
                       "{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AA\",\"y\":\"AA\"},"
                       "\"not an object\"]}";
    rc_jwks *set = parse(json, &skipped, RC_OK);
    CHECK_EQ(rc_jwks_count(set), 2);
    CHECK_EQ(skipped, 9);
    CHECK_STR(rc_jwks_kid(set, 0), "r1");
    CHECK_STR(rc_jwks_kid(set, 1), "e1");

    EVP_PKEY *k = NULL;
    CHECK_EQ(rc_jwks_find(set, "r1", 2, RC_JWKS_RS256, &k), RC_OK);
    CHECK(k && EVP_PKEY_is_a(k, "RSA") && EVP_PKEY_get_bits(k) == 2048);
    CHECK_EQ(rc_jwks_find(set, "e1", 2, RC_JWKS_ES256, &k), RC_OK);
    CHECK(k && EVP_PKEY_is_a(k, "EC"));
    CHECK_EQ(rc_jwks_find(set, "e1", 2, RC_JWKS_RS256, &k), RC_EPERM); /* the other alg */
    CHECK_EQ(rc_jwks_find(set, "h1", 2, RC_JWKS_RS256, &k), RC_ENOENT);
    CHECK_EQ(rc_jwks_find(set, "r", 1, RC_JWKS_RS256, &k), RC_ENOENT);  /* no prefix match */
    CHECK_EQ(rc_jwks_find(set, NULL, 0, RC_JWKS_ES256, &k), RC_OK);     /* the only EC key */
    CHECK_EQ(rc_jwks_find(NULL, "r1", 2, RC_JWKS_RS256, &k), RC_ENOENT); /* nothing loaded */
    rc_jwks_free(set);

    /* without a kid, two keys of the algorithm are ambiguous */
    set = parse("{\"keys\":[" RSA("a", "") "," RSA("b", "") "]}", NULL, RC_OK);
    CHECK_EQ(rc_jwks_find(set, NULL, 0, RC_JWKS_RS256, &k), RC_ENOENT);
    rc_jwks_free(set);
}

static void refused(void)
{
    char err[RC_ERRSTR_LEN];
    rc_jwks *set = NULL;
    const char *bad[] = {"", "[]", "{\"keys\":{}}", "{\"keys\":[1,2]", "{\"keys\":[],\"keys\":[]}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ(rc_jwks_parse(bad[i], strlen(bad[i]), &set, NULL, err, sizeof err), RC_EINVAL);
    CHECK(set == NULL);
    const char *none = "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}";
    CHECK_EQ(rc_jwks_parse(none, strlen(none), &set, NULL, err, sizeof err), RC_EINVAL);
    CHECK_STR(err, "no RS256 or ES256 signing key among 1 keys");
}

int main(void)
{
    kept_and_skipped();
    refused();
    CHECK_DONE();
}
