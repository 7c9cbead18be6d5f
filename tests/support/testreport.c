#include "testreport.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

static const char fixture[] =
	"{\"schema_version\":2,\"generated_at\":1795651200,"
	"\"period\":{\"since\":\"2026-11-20\",\"until\":\"2026-11-26\","
	"\"days\":7,\"previous_since\":\"2026-11-13\","
	"\"previous_until\":\"2026-11-19\",\"batch\":null},"
	"\"totals\":{\"dumps\":120,\"distinct\":117,\"buckets\":14,"
	"\"errors\":2,\"failed\":1,\"quarantined\":0,"
	"\"formats\":{\"minidump\":80,\"kernel-dump\":30,"
	"\"debugger-log\":10}},"
	"\"batches\":[{\"batch\":\"case-4711\",\"dumps\":100,\"distinct\":98,"
	"\"errors\":1,\"failed\":1},{\"batch\":\"acme\",\"dumps\":15,"
	"\"distinct\":14,\"errors\":1,\"failed\":0},{\"batch\":null,"
	"\"dumps\":5,\"distinct\":5,\"errors\":0,\"failed\":0,"
	"\"other\":true}],"
	"\"bugchecks\":["
	"{\"code\":\"0x000000D1\",\"name\":\"DRIVER_IRQL_NOT_LESS_OR_EQUAL\","
	"\"category\":\"driver\",\"count\":40,\"share\":0.4,"
	"\"previous_count\":30,\"change\":0.05,\"baseline_share\":0.117},"
	"{\"code\":\"0x0000000A\",\"name\":\"IRQL_NOT_LESS_OR_EQUAL\","
	"\"category\":\"driver\",\"count\":25,\"share\":0.25,"
	"\"previous_count\":30,\"change\":-0.08,\"baseline_share\":0.18},"
	"{\"code\":\"0x00000050\",\"name\":\"PAGE_FAULT_IN_NONPAGED_AREA\","
	"\"category\":\"memory\",\"count\":20,\"share\":0.2,"
	"\"previous_count\":10,\"change\":0.1,\"baseline_share\":0.12},"
	"{\"code\":\"0x0000007E\","
	"\"name\":\"SYSTEM_THREAD_EXCEPTION_NOT_HANDLED\","
	"\"category\":\"driver\",\"count\":10,\"share\":0.1,"
	"\"previous_count\":0,\"change\":null,\"baseline_share\":0.08},"
	"{\"code\":\"0xDEADBEEF\",\"name\":\"unknown bugcheck\","
	"\"category\":\"unknown\",\"count\":5,\"share\":0.05,"
	"\"previous_count\":0,\"change\":null,\"baseline_share\":null}],"
	"\"exceptions\":[{\"code\":\"0xC0000005\","
	"\"name\":\"EXCEPTION_ACCESS_VIOLATION\",\"count\":15,\"share\":0.75,"
	"\"previous_count\":9}],"
	"\"patterns\":[{\"pattern\":\"heap-corruption\","
	"\"title\":\"Heap corruption\",\"count\":7,\"confident\":5,"
	"\"share\":0.058},{\"pattern\":\"virtualized-system\","
	"\"title\":\"Virtualized system\",\"count\":30,\"confident\":30,"
	"\"share\":0.25}],"
	"\"virtualization\":{\"virtualized\":30,\"share\":0.25,"
	"\"hypervisors\":[{\"name\":\"VMware\",\"count\":20},"
	"{\"name\":\"Hyper-V\",\"count\":10}]},"
	"\"top_buckets\":["
	"{\"hash\":\"1111111111111111\","
	"\"signature\":\"0xD1 acme.sys!Dispatch+0x10 | nt!KiPageFault\","
	"\"count\":30,\"previous_count\":20,\"total\":90,"
	"\"first_seen\":1790000000,\"last_seen\":1795600000,"
	"\"daily\":[2,5,3,6,4,7,3],\"bugcheck\":\"0x000000D1\","
	"\"exception\":null,\"blame\":\"acme.sys\",\"low_trust\":false,"
	"\"os_versions\":[{\"os_ver\":\"10.0.19045\",\"count\":25},"
	"{\"os_ver\":\"10.0.22631\",\"count\":5}],"
	"\"patterns\":[{\"pattern\":\"virtualized-system\",\"count\":10}],"
	"\"samples\":[{\"hash\":\"aa\",\"source\":\"/dumps/a.dmp\","
	"\"archive\":null,\"member\":null,\"batch\":\"case-4711\"},"
	"{\"hash\":\"bb\",\"source\":\"/dumps/b.zip\",\"archive\":\"b.zip\","
	"\"member\":\"m\",\"batch\":\"case-4711\"}]},"
	"{\"hash\":\"2222222222222222\",\"signature\":\"s\",\"count\":12,"
	"\"previous_count\":2,\"total\":12,\"first_seen\":1795100000,"
	"\"last_seen\":1795600000,\"daily\":[0,0,1,2,3,3,3],"
	"\"bugcheck\":\"0x00000050\",\"exception\":null,\"blame\":\"b\","
	"\"low_trust\":true,\"os_versions\":[],\"patterns\":[],"
	"\"samples\":[]},"
	"{\"hash\":\"3333333333333333\",\"signature\":\"s\",\"count\":6,"
	"\"previous_count\":6,\"total\":40,\"first_seen\":1780000000,"
	"\"last_seen\":1795600000,\"daily\":[1,1,1,0,1,1,1],"
	"\"bugcheck\":null,\"exception\":\"0xC0000005\",\"blame\":\"b\","
	"\"low_trust\":false,\"os_versions\":[],\"patterns\":[],"
	"\"samples\":[]}],"
	"\"new_buckets\":[{\"hash\":\"2222222222222222\",\"signature\":\"s\","
	"\"count\":12,\"first_seen\":1795100000,\"blame\":\"x.sys\"}],"
	"\"trends\":{\"rule\":\"rising when count >= 5 and z >= 3\","
	"\"rising\":[{\"hash\":\"2222222222222222\",\"signature\":\"s\","
	"\"count\":12,\"expected\":1.5,\"z\":8.57}],\"falling\":[]},"
	"\"modules\":[{\"module\":\"acme.sys\",\"dumps\":30,\"share\":0.25,"
	"\"buckets\":2,\"owner\":\"Acme Corp\"},{\"module\":\"m\","
	"\"dumps\":5,\"share\":0.04,\"buckets\":1,\"owner\":null}],"
	"\"spray\":[{\"key\":\"nt!KiPageFault\",\"kind\":\"frame\","
	"\"buckets\":6,\"dumps\":8,"
	"\"examples\":[\"4444444444444444\",\"5555555555555555\"]}]}";

void test_report_set(json_t *obj, const char *key, const char *s)
{
	assert_non_null(obj);
	assert_int_equal(json_object_set_new(obj, key,
					     json_stringn_nocheck(s,
								  strlen(s))),
			 0);
}

static json_t *at(json_t *doc, const char *member, size_t i)
{
	return json_array_get(json_object_get(doc, member), i);
}

json_t *test_report_doc(void)
{
	json_error_t err;
	json_t *d = json_loads(fixture, 0, &err);

	if (d == NULL)
		fail_msg("fixture: %s at %d", err.text, err.position);
	json_t *b1 = at(d, "top_buckets", 1), *b2 = at(d, "top_buckets", 2);
	json_t *sample = json_array_get(
		json_object_get(at(d, "top_buckets", 0), "samples"), 1);

	test_report_set(b1, "signature", "0x50 " TR_SCRIPT "!f");
	test_report_set(b1, "blame", TR_SCRIPT);
	test_report_set(b2, "signature", TR_FORMULA);
	test_report_set(b2, "blame", TR_BIDI);
	test_report_set(sample, "member", TR_IMG);
	test_report_set(sample, "source", TR_BROKEN);
	test_report_set(at(d, "modules", 1), "module", TR_ESC);
	test_report_set(at(d, "modules", 1), "owner", TR_ATTR);
	test_report_set(at(d, "batches", 1), "batch", "+SUM(A1:A9),@x;-1");
	test_report_set(at(d, "new_buckets", 0), "blame", TR_BROKEN);
	test_report_set(at(d, "spray", 0), "key", TR_FORMULA);
	test_report_set(json_object_get(d, "period"), "batch", TR_ATTR);
	return d;
}
