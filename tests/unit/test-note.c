/*
 * test-note.c - C2SP signed notes and checkpoints: the public examples, each
 * negative case, and our own signing read back (with a second signature).
 */
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "roster/note.h"
#include "test.h"

static void test_vectors(void)
{
	json_t *v = json_load_file(VECTORS "/signed-note.json", 0, NULL), *c;
	size_t i;

	CHECK(v != NULL, "signed-note.json missing");
	json_array_foreach(json_object_get(v, "cases"), i, c)
	{
		const char *desc = json_string_value(json_object_get(c, "desc"));
		struct roster_vkey key;
		char *text = NULL;
		int vkey_ok = roster_note_vkey_parse(json_string_value(json_object_get(c, "vkey")),
		                                     &key, NULL) == 0;
		int valid =
		    vkey_ok && roster_note_verify(json_string_value(json_object_get(c, "note")),
		                                  &key, &text, NULL) == 0;

		if (json_object_get(c, "vkey_valid"))
			CHECK(vkey_ok == json_is_true(json_object_get(c, "vkey_valid")),
			      "%s: vkey parse says %d", desc, vkey_ok);
		CHECK(valid == json_is_true(json_object_get(c, "valid")), "%s: verify says %d",
		      desc, valid);
		if (valid)
			CHECK(strcmp(text, "This is an example message.\n") == 0, "%s: text", desc);
		free(text);
	}
	json_decref(v);

	v = json_load_file(VECTORS "/checkpoint.json", 0, NULL);
	CHECK(v != NULL, "checkpoint.json missing");
	{
		char origin[256], *again;
		uint64_t size;
		uint8_t root[32];

		CHECK(roster_checkpoint_parse(json_string_value(json_object_get(v, "body")), origin,
		                              sizeof(origin), &size, root, NULL) == 0,
		      "checkpoint example does not parse");
		CHECK(strcmp(origin, json_string_value(json_object_get(v, "origin"))) == 0,
		      "origin %s", origin);
		CHECK(size == (uint64_t)json_integer_value(json_object_get(v, "size")), "size");
		again = roster_checkpoint_format(origin, size, root);
		CHECK(strcmp(again, json_string_value(json_object_get(v, "body"))) == 0,
		      "checkpoint does not format back byte for byte");
		free(again);
	}
	json_decref(v);
}

static void test_roundtrip(void)
{
	uint8_t pk[32], sk[64], pk2[32], sk2[64], root[32] = {1, 2, 3};
	struct roster_vkey key, key2, wrong;
	char *vkey, *vkey2, *body, *note, *both, *text, *tampered;
	char origin[64];
	uint64_t size;
	struct roster_err err;

	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(pk2, sk2);
	vkey = roster_note_vkey_format("registry.example/roster", pk);
	vkey2 = roster_note_vkey_format("registry.example/roster", pk2);
	CHECK(roster_note_vkey_parse(vkey, &key, &err) == 0, "own vkey: %s", err.message);
	CHECK(roster_note_vkey_parse(vkey2, &key2, &err) == 0, "second vkey: %s", err.message);
	body = roster_checkpoint_format("registry.example/roster", 42, root);
	note = roster_note_sign(body, "registry.example/roster", sk);
	CHECK(roster_note_verify(note, &key, &text, &err) == 0 && strcmp(text, body) == 0,
	      "own note: %s", err.message);
	free(text);
	CHECK(roster_note_verify(note, &key2, &text, &err) < 0, "verified under another key");
	both = roster_note_cosign(note, "registry.example/roster", sk2, &err);
	CHECK(both && roster_note_verify(both, &key, &text, &err) == 0, "first of two signatures");
	free(text);
	CHECK(both && roster_note_verify(both, &key2, &text, &err) == 0,
	      "second of two signatures");
	CHECK(roster_checkpoint_parse(text, origin, sizeof(origin), &size, root, &err) == 0 &&
	          size == 42,
	      "signed checkpoint parses");
	free(text);
	tampered = strdup(note);
	tampered[strlen("registry.example/roster\n")] = '5';
	CHECK(roster_note_verify(tampered, &key, &text, &err) < 0 &&
	          strcmp(err.code, "bad_signature") == 0,
	      "altered size accepted");
	memcpy(&wrong, &key, sizeof(wrong));
	wrong.pk[0] ^= 1;
	CHECK(roster_note_verify(note, &wrong, &text, &err) < 0, "wrong public key accepted");
	CHECK(roster_note_vkey_parse("nokey", &key, &err) < 0, "garbage vkey accepted");
	CHECK(roster_checkpoint_parse("o\n01\nAAAA\n", origin, sizeof(origin), &size, root, &err) <
	          0,
	      "leading zero size accepted");
	free(tampered);
	free(vkey);
	free(vkey2);
	free(body);
	free(note);
	free(both);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_vectors();
	test_roundtrip();
	return test_done();
}
