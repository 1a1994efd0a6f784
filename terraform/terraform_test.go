// Package terraform holds the Floe AWS deployment (HCL) and tests that check it
// statically: the providers cannot be downloaded where these tests run, so
// instead of `terraform validate` the tests parse the configuration with
// hashicorp/hcl and assert its security and scaling properties, and that every
// reference resolves.
package terraform

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/stretchr/testify/require"
	"github.com/zclconf/go-cty/cty"

	"github.com/floemq/floe/httpapi"
)

// module is the parsed configuration of this directory.
type module struct {
	src    map[string][]byte // file name -> bytes
	bodies map[string]*hclsyntax.Body
	blocks []*hclsyntax.Block // top-level blocks of every file
}

func load(t *testing.T) *module {
	t.Helper()
	names, err := filepath.Glob("*.tf")
	require.NoError(t, err)
	require.NotEmpty(t, names, "no .tf files")
	sort.Strings(names)

	p := hclparse.NewParser()
	m := &module{src: map[string][]byte{}, bodies: map[string]*hclsyntax.Body{}}
	for _, name := range names {
		f, diags := p.ParseHCLFile(name)
		require.False(t, diags.HasErrors(), "%s: %s", name, diags.Error())
		body, ok := f.Body.(*hclsyntax.Body)
		require.True(t, ok)
		m.src[name] = f.Bytes
		m.bodies[name] = body
		m.blocks = append(m.blocks, body.Blocks...)
	}
	return m
}

// text is the source of a node, as written.
func (m *module) text(n hclsyntax.Node) string {
	r := n.Range()
	return string(r.SliceBytes(m.src[r.Filename]))
}

// labelled returns the top-level blocks of a kind ("resource", "data") and type, by name.
func (m *module) labelled(kind, typ string) map[string]*hclsyntax.Block {
	out := map[string]*hclsyntax.Block{}
	for _, b := range m.blocks {
		if b.Type == kind && len(b.Labels) == 2 && b.Labels[0] == typ {
			out[b.Labels[1]] = b
		}
	}
	return out
}

func (m *module) resources(typ string) map[string]*hclsyntax.Block {
	return m.labelled("resource", typ)
}
func (m *module) data(typ string) map[string]*hclsyntax.Block { return m.labelled("data", typ) }

func (m *module) variables() map[string]*hclsyntax.Block {
	out := map[string]*hclsyntax.Block{}
	for _, b := range m.blocks {
		if b.Type == "variable" {
			out[b.Labels[0]] = b
		}
	}
	return out
}

func (m *module) locals() map[string]*hclsyntax.Attribute {
	out := map[string]*hclsyntax.Attribute{}
	for _, b := range m.blocks {
		if b.Type == "locals" {
			for name, a := range b.Body.Attributes {
				out[name] = a
			}
		}
	}
	return out
}

func attr(b *hclsyntax.Block, name string) hclsyntax.Expression {
	if a, ok := b.Body.Attributes[name]; ok {
		return a.Expr
	}
	return nil
}

func nested(b *hclsyntax.Block, typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, c := range b.Body.Blocks {
		if c.Type == typ {
			out = append(out, c)
		}
	}
	return out
}

// path follows nested block types: path(b, "rule", "apply_server_side_encryption_by_default").
func path(b *hclsyntax.Block, types ...string) []*hclsyntax.Block {
	cur := []*hclsyntax.Block{b}
	for _, typ := range types {
		var next []*hclsyntax.Block
		for _, c := range cur {
			next = append(next, nested(c, typ)...)
		}
		cur = next
	}
	return cur
}

// literal evaluates an expression that needs no variables.
func literal(e hclsyntax.Expression) (cty.Value, bool) {
	if e == nil {
		return cty.NilVal, false
	}
	v, diags := e.Value(nil)
	if diags.HasErrors() || !v.IsWhollyKnown() {
		return cty.NilVal, false
	}
	return v, true
}

func literalString(e hclsyntax.Expression) (string, bool) {
	v, ok := literal(e)
	if !ok || v.IsNull() || v.Type() != cty.String {
		return "", false
	}
	return v.AsString(), true
}

func literalStrings(t *testing.T, e hclsyntax.Expression) []string {
	t.Helper()
	v, ok := literal(e)
	require.True(t, ok, "expected a literal list")
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, el := it.Element()
		require.Equal(t, cty.String, el.Type())
		out = append(out, el.AsString())
	}
	return out
}

// value resolves a literal, or `var.X` to X's default.
func (m *module) value(e hclsyntax.Expression) (cty.Value, bool) {
	if v, ok := literal(e); ok {
		return v, true
	}
	if name, ok := m.varName(e); ok {
		if def := attr(m.variables()[name], "default"); def != nil {
			return literal(def)
		}
	}
	return cty.NilVal, false
}

// varName reports X when e is exactly `var.X`.
func (m *module) varName(e hclsyntax.Expression) (string, bool) {
	st, ok := e.(*hclsyntax.ScopeTraversalExpr)
	if !ok || len(st.Traversal) != 2 || st.Traversal.RootName() != "var" {
		return "", false
	}
	a, ok := st.Traversal[1].(hcl.TraverseAttr)
	if !ok {
		return "", false
	}
	if _, declared := m.variables()[a.Name]; !declared {
		return "", false
	}
	return a.Name, true
}

// number resolves a literal number or a variable's default; for a variable it
// also returns the lowest bound its validation enforces (`var.X >= N`), or -inf.
func (m *module) number(t *testing.T, e hclsyntax.Expression) (val, floor float64) {
	t.Helper()
	v, ok := m.value(e)
	require.True(t, ok, "%s: not a literal or a variable with a default", m.text(e))
	require.Equal(t, cty.Number, v.Type(), m.text(e))
	val, _ = v.AsBigFloat().Float64()
	floor = val
	if name, ok := m.varName(e); ok {
		floor = -1e18
		for _, vb := range nested(m.variables()[name], "validation") {
			re := regexp.MustCompile(`var\.` + name + `\s*>=\s*([0-9.]+)`)
			if mm := re.FindStringSubmatch(m.text(attr(vb, "condition"))); mm != nil {
				f, _ := strconv.ParseFloat(mm[1], 64)
				floor = max(floor, f)
			}
		}
	}
	return val, floor
}

func (m *module) requireBool(t *testing.T, b *hclsyntax.Block, name string, want bool) {
	t.Helper()
	v, ok := literal(attr(b, name))
	require.True(t, ok, "%s.%s: must be a literal %v", strings.Join(b.Labels, "."), name, want)
	require.Equal(t, cty.BoolVal(want), v, "%s.%s", strings.Join(b.Labels, "."), name)
}

// refersTo reports whether the expression's source mentions ref (e.g. "aws_s3_bucket.segments").
func (m *module) refersTo(e hclsyntax.Expression, ref string) bool {
	if e == nil {
		return false
	}
	return regexp.MustCompile(`(^|[^A-Za-z0-9_.])` + regexp.QuoteMeta(ref) + `([^A-Za-z0-9_]|$)`).MatchString(m.text(e))
}

// ---- files ----------------------------------------------------------------------

func TestFilesParse(t *testing.T) {
	m := load(t)
	for _, f := range []string{"versions.tf", "variables.tf", "main.tf", "network.tf", "s3.tf", "rds.tf", "iam.tf", "ecs.tf", "alb.tf", "autoscaling.tf", "outputs.tf"} {
		require.Contains(t, m.src, f)
	}
	for _, b := range m.blocks {
		switch b.Type {
		case "resource", "data":
			require.Len(t, b.Labels, 2, "%s block at %s", b.Type, b.Range())
		case "variable", "output":
			require.Len(t, b.Labels, 1, "%s block at %s", b.Type, b.Range())
		case "locals", "terraform", "provider":
		default:
			t.Errorf("unexpected top-level block %q at %s", b.Type, b.Range())
		}
	}

	var aws string
	for _, b := range m.blocks {
		if b.Type != "terraform" {
			continue
		}
		for _, rp := range nested(b, "required_providers") {
			v, ok := literal(attr(&hclsyntax.Block{Body: rp.Body}, "aws"))
			require.True(t, ok)
			aws = v.GetAttr("version").AsString()
		}
	}
	require.Regexp(t, `^~> 5(\.\d+)*$`, aws, "AWS provider must be pinned to 5.x")

	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	for _, s := range []string{"terraform init", "terraform apply", "-var image=", "docker", "push", "ConsumerLag", "Autoscaling", "destroy", "Costs"} {
		require.Contains(t, string(readme), s, "README.md should cover %q", s)
	}
}

func TestTerraformFmt(t *testing.T) {
	tf, err := exec.LookPath("terraform")
	if err != nil {
		t.Skip("terraform CLI not installed")
	}
	cmd := exec.Command(tf, "fmt", "-check", "-recursive", "-diff", ".")
	cmd.Env = append(os.Environ(), "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "terraform fmt -check -recursive found unformatted files:\n%s", out)
}

// TestReferencesResolve is the part of `terraform validate` that needs no
// provider: every var., local., data. and resource reference names something
// declared here.
func TestReferencesResolve(t *testing.T) {
	m := load(t)
	declared := map[string]bool{}
	for _, b := range m.blocks {
		switch b.Type {
		case "resource":
			declared[b.Labels[0]+"."+b.Labels[1]] = true
		case "data":
			declared["data."+b.Labels[0]+"."+b.Labels[1]] = true
		case "variable":
			declared["var."+b.Labels[0]] = true
		}
	}
	for name := range m.locals() {
		declared["local."+name] = true
	}

	// Names that may start a traversal besides declared objects: Terraform's
	// own, for-expression symbols and dynamic-block iterators.
	symbols := map[string]bool{"each": true, "count": true, "self": true, "path": true, "terraform": true}
	for _, body := range m.bodies {
		hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
			switch x := n.(type) {
			case *hclsyntax.ForExpr:
				symbols[x.KeyVar], symbols[x.ValVar] = true, true
			case *hclsyntax.Block:
				if x.Type == "dynamic" {
					symbols[x.Labels[0]] = true
					if it, ok := x.Body.Attributes["iterator"]; ok {
						symbols[m.text(it.Expr)] = true
					}
				}
			}
			return nil
		})
	}

	// Type constraints (type = map(string)) and ignore_changes lists name no objects.
	var types []hcl.Range
	for _, v := range m.variables() {
		if e := attr(v, "type"); e != nil {
			types = append(types, e.Range())
		}
	}
	for _, body := range m.bodies {
		hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
			if a, ok := n.(*hclsyntax.Attribute); ok && a.Name == "ignore_changes" {
				types = append(types, a.Expr.Range())
			}
			return nil
		})
	}

	checked := 0
	for _, body := range m.bodies {
		hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
			st, ok := n.(*hclsyntax.ScopeTraversalExpr)
			if !ok || slices.ContainsFunc(types, func(r hcl.Range) bool {
				return r.Filename == st.SrcRange.Filename && r.ContainsOffset(st.SrcRange.Start.Byte)
			}) {
				return nil
			}
			tr := st.Traversal
			root := tr.RootName()
			attrName := func(i int) string {
				if i < len(tr) {
					if a, ok := tr[i].(hcl.TraverseAttr); ok {
						return a.Name
					}
				}
				return "?"
			}
			var ref string
			switch {
			case root == "var" || root == "local":
				ref = root + "." + attrName(1)
			case root == "data":
				ref = "data." + attrName(1) + "." + attrName(2)
			case strings.HasPrefix(root, "aws_") || strings.HasPrefix(root, "random_"):
				ref = root + "." + attrName(1)
			default:
				require.True(t, symbols[root], "%s: unknown name %q", st.Range(), root)
				return nil
			}
			checked++
			require.True(t, declared[ref], "%s: %s is not declared", st.Range(), ref)
			return nil
		})
	}
	require.Greater(t, checked, 100)
}

// ---- S3 ------------------------------------------------------------------------

func TestBucketLockedDown(t *testing.T) {
	m := load(t)
	buckets := m.resources("aws_s3_bucket")
	require.NotEmpty(t, buckets)

	for name, bucket := range buckets {
		ref := "aws_s3_bucket." + name
		require.Nil(t, attr(bucket, "acl"), "%s: no ACLs", ref)

		forBucket := func(typ string) *hclsyntax.Block {
			for _, b := range m.resources(typ) {
				if m.refersTo(attr(b, "bucket"), ref) {
					return b
				}
			}
			t.Fatalf("%s has no %s", ref, typ)
			return nil
		}

		pab := forBucket("aws_s3_bucket_public_access_block")
		for _, flag := range []string{"block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"} {
			m.requireBool(t, pab, flag, true)
		}

		sse := forBucket("aws_s3_bucket_server_side_encryption_configuration")
		defaults := path(sse, "rule", "apply_server_side_encryption_by_default")
		require.NotEmpty(t, defaults, "%s: SSE rule", ref)
		alg, _ := literalString(attr(defaults[0], "sse_algorithm"))
		require.Contains(t, []string{"AES256", "aws:kms", "aws:kms:dsse"}, alg)

		own := path(forBucket("aws_s3_bucket_ownership_controls"), "rule")
		require.NotEmpty(t, own)
		o, _ := literalString(attr(own[0], "object_ownership"))
		require.Equal(t, "BucketOwnerEnforced", o)

		found := false
		for _, rule := range path(forBucket("aws_s3_bucket_lifecycle_configuration"), "rule") {
			status, _ := literalString(attr(rule, "status"))
			for _, abort := range nested(rule, "abort_incomplete_multipart_upload") {
				days, _ := m.number(t, attr(abort, "days_after_initiation"))
				found = found || (status == "Enabled" && days == 1)
			}
		}
		require.True(t, found, "%s: lifecycle rule aborting incomplete multipart uploads after 1 day", ref)
	}
	require.Empty(t, m.resources("aws_s3_bucket_acl"))
}

// policyStatements returns every statement of every aws_iam_policy_document.
func (m *module) policyStatements() map[string][]*hclsyntax.Block {
	out := map[string][]*hclsyntax.Block{}
	for name, doc := range m.data("aws_iam_policy_document") {
		out[name] = nested(doc, "statement")
	}
	return out
}

func TestS3PermissionsScopedToBucket(t *testing.T) {
	m := load(t)
	bucketRefs := []string{}
	for name := range m.resources("aws_s3_bucket") {
		bucketRefs = append(bucketRefs, "aws_s3_bucket."+name+".arn")
	}

	var actionRanges []hcl.Range
	for doc, stmts := range m.policyStatements() {
		for _, st := range stmts {
			actionsExpr := attr(st, "actions")
			require.NotNil(t, actionsExpr, "%s: statement without actions", doc)
			require.Nil(t, attr(st, "not_actions"), "%s: not_actions", doc)
			actionRanges = append(actionRanges, actionsExpr.Range())
			actions := literalStrings(t, actionsExpr)
			hasS3 := slices.ContainsFunc(actions, func(a string) bool { return strings.HasPrefix(a, "s3:") })
			if !hasS3 {
				continue
			}
			effect, _ := literalString(attr(st, "effect"))
			require.Nil(t, attr(st, "not_resources"), "%s: s3 statement with not_resources", doc)
			res, ok := attr(st, "resources").(*hclsyntax.TupleConsExpr)
			require.True(t, ok, "%s: s3 statement needs a resources list", doc)
			require.NotEmpty(t, res.Exprs)
			for _, r := range res.Exprs {
				if s, ok := literalString(r); ok {
					require.NotContains(t, s, "*", "%s: s3 statement with a literal wildcard resource %q", doc, s)
				}
				named := slices.ContainsFunc(bucketRefs, func(ref string) bool { return m.refersTo(r, ref) })
				require.True(t, named, "%s: s3 resource %s must be the bucket ARN or ${arn}/*", doc, m.text(r))
				require.Regexp(t, `^("\$\{)?aws_s3_bucket\.[a-z0-9_]+\.arn(}/\*")?$`, m.text(r), doc)
			}
			if effect != "Deny" {
				require.NotContains(t, actions, "s3:*", "%s: allow statements name their s3 actions", doc)
			}
		}
	}

	// No s3: action lives anywhere but in those statements (no inline JSON policies).
	for _, body := range m.bodies {
		hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
			lit, ok := n.(*hclsyntax.LiteralValueExpr)
			if !ok || lit.Val.Type() != cty.String || !strings.HasPrefix(lit.Val.AsString(), "s3:") {
				return nil
			}
			inside := slices.ContainsFunc(actionRanges, func(r hcl.Range) bool {
				return r.Filename == lit.SrcRange.Filename && r.ContainsOffset(lit.SrcRange.Start.Byte)
			})
			require.True(t, inside, "%s: s3 action outside an aws_iam_policy_document statement", lit.SrcRange)
			return nil
		})
	}
}

func TestTaskRoleS3Actions(t *testing.T) {
	m := load(t)
	allowed := []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket", "s3:AbortMultipartUpload"}

	taskRoles := map[string]bool{}
	for _, td := range m.resources("aws_ecs_task_definition") {
		mm := regexp.MustCompile(`aws_iam_role\.([a-z0-9_]+)\.arn`).FindStringSubmatch(m.text(attr(td, "task_role_arn")))
		require.NotNil(t, mm, "task definition needs a task role")
		taskRoles[mm[1]] = true
	}
	require.NotEmpty(t, taskRoles)

	seen := map[string]bool{}
	for _, rp := range m.resources("aws_iam_role_policy") {
		role := regexp.MustCompile(`aws_iam_role\.([a-z0-9_]+)\.`).FindStringSubmatch(m.text(attr(rp, "role")))
		if role == nil || !taskRoles[role[1]] {
			continue
		}
		doc := regexp.MustCompile(`^data\.aws_iam_policy_document\.([a-z0-9_]+)\.json$`).FindStringSubmatch(m.text(attr(rp, "policy")))
		require.NotNil(t, doc, "task role policies are aws_iam_policy_document data sources")
		for _, st := range m.policyStatements()[doc[1]] {
			effect, _ := literalString(attr(st, "effect"))
			require.Contains(t, []string{"", "Allow"}, effect)
			for _, a := range literalStrings(t, attr(st, "actions")) {
				if !strings.HasPrefix(a, "s3:") {
					continue
				}
				require.Contains(t, allowed, a, "task role: unexpected S3 action")
				seen[a] = true
				res := attr(st, "resources").(*hclsyntax.TupleConsExpr).Exprs
				for _, r := range res {
					if a == "s3:ListBucket" {
						require.Regexp(t, `^aws_s3_bucket\.[a-z0-9_]+\.arn$`, m.text(r), "ListBucket applies to the bucket")
					} else {
						require.Regexp(t, `/\*"$`, m.text(r), "%s applies to the bucket's objects", a)
					}
				}
			}
		}
	}
	for _, a := range []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"} {
		require.True(t, seen[a], "task role lacks %s", a)
	}
	for _, r := range m.resources("aws_iam_role_policy_attachment") {
		role := regexp.MustCompile(`aws_iam_role\.([a-z0-9_]+)\.`).FindStringSubmatch(m.text(attr(r, "role")))
		require.False(t, role != nil && taskRoles[role[1]], "no managed policies on the task role")
	}
}

// ---- RDS -----------------------------------------------------------------------

func TestDatabase(t *testing.T) {
	m := load(t)
	dbs := m.resources("aws_db_instance")
	require.NotEmpty(t, dbs)
	for name, db := range dbs {
		m.requireBool(t, db, "storage_encrypted", true)
		m.requireBool(t, db, "publicly_accessible", false)

		retention, floor := m.number(t, attr(db, "backup_retention_period"))
		require.GreaterOrEqual(t, retention, 7.0, "%s: backup retention", name)
		require.GreaterOrEqual(t, floor, 7.0, "%s: backup retention must be validated >= 7", name)

		engine, _ := literalString(attr(db, "engine"))
		require.Equal(t, "postgres", engine)
		ver, ok := m.value(attr(db, "engine_version"))
		require.True(t, ok)
		major, err := strconv.Atoi(strings.Split(ver.AsString(), ".")[0])
		require.NoError(t, err)
		require.GreaterOrEqual(t, major, 15)

		_, isVar := m.varName(attr(db, "deletion_protection"))
		require.True(t, isVar, "deletion_protection is a variable")

		// In the private subnets.
		sg := regexp.MustCompile(`aws_db_subnet_group\.([a-z0-9_]+)\.`).FindStringSubmatch(m.text(attr(db, "db_subnet_group_name")))
		require.NotNil(t, sg)
		require.Contains(t, m.text(attr(m.resources("aws_db_subnet_group")[sg[1]], "subnet_ids")), "private")

		// Password: RDS-managed, or generated and kept in Secrets Manager.
		if v, ok := literal(attr(db, "manage_master_user_password")); !ok || !v.True() {
			pw := regexp.MustCompile(`^random_password\.([a-z0-9_]+)\.result$`).FindStringSubmatch(m.text(attr(db, "password")))
			require.NotNil(t, pw, "%s: password must be generated (random_password) or RDS-managed", name)
			stored := false
			for _, v := range m.resources("aws_secretsmanager_secret_version") {
				stored = stored || m.refersTo(attr(v, "secret_string"), "random_password."+pw[1])
			}
			require.True(t, stored, "the generated password must be stored in Secrets Manager")
		}

		// Only the tasks' security group gets in.
		dbSGs := regexp.MustCompile(`aws_security_group\.([a-z0-9_]+)\.id`).FindAllStringSubmatch(m.text(attr(db, "vpc_security_group_ids")), -1)
		require.NotEmpty(t, dbSGs)
		for _, s := range dbSGs {
			sgBlock := m.resources("aws_security_group")[s[1]]
			require.NotNil(t, sgBlock)
			require.Empty(t, nested(sgBlock, "ingress"), "use aws_vpc_security_group_ingress_rule")
			rules := 0
			for _, r := range m.resources("aws_vpc_security_group_ingress_rule") {
				if !m.refersTo(attr(r, "security_group_id"), "aws_security_group."+s[1]) {
					continue
				}
				rules++
				for _, cidr := range []string{"cidr_ipv4", "cidr_ipv6", "prefix_list_id"} {
					require.Nil(t, attr(r, cidr), "db ingress from %s", cidr)
				}
				require.True(t, m.refersTo(attr(r, "referenced_security_group_id"), "aws_security_group.tasks"), "db ingress only from the tasks")
			}
			require.Equal(t, 1, rules)
			require.Empty(t, m.resources("aws_security_group_rule"))
		}
	}
}

// ---- ECS -----------------------------------------------------------------------

// containerDefs returns the top-level object of every container in a task
// definition's container_definitions = jsonencode([...]).
func containerDefs(t *testing.T, td *hclsyntax.Block) []*hclsyntax.ObjectConsExpr {
	t.Helper()
	call, ok := attr(td, "container_definitions").(*hclsyntax.FunctionCallExpr)
	require.True(t, ok && call.Name == "jsonencode" && len(call.Args) == 1, "container_definitions = jsonencode([...])")
	list, ok := call.Args[0].(*hclsyntax.TupleConsExpr)
	require.True(t, ok, "jsonencode of a list of containers")
	var out []*hclsyntax.ObjectConsExpr
	for _, e := range list.Exprs {
		obj, ok := e.(*hclsyntax.ObjectConsExpr)
		require.True(t, ok)
		out = append(out, obj)
	}
	return out
}

func keyName(e hclsyntax.Expression) string {
	if k, ok := e.(*hclsyntax.ObjectConsKeyExpr); ok {
		if st, ok := k.Wrapped.(*hclsyntax.ScopeTraversalExpr); ok && len(st.Traversal) == 1 {
			return st.Traversal.RootName()
		}
		e = k.Wrapped
	}
	s, _ := literalString(e)
	return s
}

func field(obj *hclsyntax.ObjectConsExpr, key string) hclsyntax.Expression {
	for _, it := range obj.Items {
		if keyName(it.KeyExpr) == key {
			return it.ValueExpr
		}
	}
	return nil
}

// resolve follows `local.X` to X's expression.
func (m *module) resolve(e hclsyntax.Expression) hclsyntax.Expression {
	for {
		st, ok := e.(*hclsyntax.ScopeTraversalExpr)
		if !ok || len(st.Traversal) != 2 || st.Traversal.RootName() != "local" {
			return e
		}
		a := m.locals()[st.Traversal[1].(hcl.TraverseAttr).Name]
		if a == nil {
			return e
		}
		e = a.Expr
	}
}

// closure is the source of e plus, recursively, of every local it reads.
func (m *module) closure(e hclsyntax.Expression, seen map[string]bool) string {
	var b strings.Builder
	b.WriteString(m.text(e))
	for _, tr := range e.Variables() {
		if tr.RootName() != "local" || len(tr) < 2 {
			continue
		}
		name := tr[1].(hcl.TraverseAttr).Name
		if seen[name] || m.locals()[name] == nil {
			continue
		}
		seen[name] = true
		b.WriteString("\n" + m.closure(m.locals()[name].Expr, seen))
	}
	return b.String()
}

func TestDatabaseURLOnlyAsSecret(t *testing.T) {
	m := load(t)
	tds := m.resources("aws_ecs_task_definition")
	require.NotEmpty(t, tds)

	var secretRanges []hcl.Range
	for name, td := range tds {
		for _, c := range containerDefs(t, td) {
			// secrets: FLOE_DATABASE_URL from a Secrets Manager secret.
			secrets := m.resolve(field(c, "secrets"))
			require.NotNil(t, secrets, "%s: container without secrets", name)
			secretRanges = append(secretRanges, secrets.Range())
			list, ok := secrets.(*hclsyntax.TupleConsExpr)
			require.True(t, ok, "%s: secrets must be a list", name)
			found := false
			for _, e := range list.Exprs {
				obj := e.(*hclsyntax.ObjectConsExpr)
				if n, _ := literalString(field(obj, "name")); n == "FLOE_DATABASE_URL" {
					found = true
					from := field(obj, "valueFrom")
					require.Regexp(t, `aws_secretsmanager_secret\.[a-z0-9_]+\.arn`, m.text(from))
					secret := regexp.MustCompile(`aws_secretsmanager_secret\.([a-z0-9_]+)\.arn`).FindStringSubmatch(m.text(from))[1]
					m.requireSecretReadable(t, secret)
					m.requireDatabaseURLSecret(t, secret)
				}
			}
			require.True(t, found, "%s: FLOE_DATABASE_URL must be an ECS secret", name)

			// environment: nothing that is or leads to the database credentials.
			env := field(c, "environment")
			require.NotNil(t, env)
			text := m.closure(env, map[string]bool{})
			for _, bad := range []string{"FLOE_DATABASE_URL", "random_password", "aws_secretsmanager_secret_version", "aws_db_instance", "postgres://", "FLOE_S3_SECRET_ACCESS_KEY"} {
				require.NotContains(t, text, bad, "%s: container environment must not carry %s", name, bad)
			}
			for _, tr := range env.Variables() {
				if tr.RootName() == "var" {
					v := m.variables()[tr[1].(hcl.TraverseAttr).Name]
					for _, vb := range nested(v, "validation") {
						require.Contains(t, m.text(attr(vb, "condition")), "FLOE_DATABASE_URL", "variables feeding the environment must refuse FLOE_DATABASE_URL")
					}
				}
			}
		}
	}

	// Anywhere else the name appears (outside variable validations and
	// descriptions), it is in a secrets list.
	var prose []hcl.Range
	for _, body := range m.bodies {
		hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
			if a, ok := n.(*hclsyntax.Attribute); ok && a.Name == "description" {
				prose = append(prose, a.Expr.Range())
			}
			return nil
		})
	}
	within := func(rs []hcl.Range, r hcl.Range) bool {
		return slices.ContainsFunc(rs, func(o hcl.Range) bool {
			return o.Filename == r.Filename && o.ContainsOffset(r.Start.Byte)
		})
	}
	for _, b := range m.blocks {
		if b.Type == "variable" {
			continue
		}
		hclsyntax.VisitAll(b.Body, func(n hclsyntax.Node) hcl.Diagnostics {
			lit, ok := n.(*hclsyntax.LiteralValueExpr)
			if !ok || lit.Val.Type() != cty.String || !strings.Contains(lit.Val.AsString(), "FLOE_DATABASE_URL") {
				return nil
			}
			if within(prose, lit.SrcRange) {
				return nil
			}
			inside := within(secretRanges, lit.SrcRange)
			require.True(t, inside, "%s: FLOE_DATABASE_URL outside the containers' secrets", lit.SrcRange)
			return nil
		})
	}
}

// requireDatabaseURLSecret checks the secret holds a postgres:// URL of the RDS instance.
func (m *module) requireDatabaseURLSecret(t *testing.T, secret string) {
	t.Helper()
	for _, v := range m.resources("aws_secretsmanager_secret_version") {
		if !m.refersTo(attr(v, "secret_id"), "aws_secretsmanager_secret."+secret) {
			continue
		}
		s := m.text(attr(v, "secret_string"))
		require.True(t, strings.HasPrefix(s, `"postgres://`), "database URL secret: %s", s)
		require.Contains(t, s, "aws_db_instance.")
		return
	}
	t.Fatalf("secret %s has no aws_secretsmanager_secret_version", secret)
}

// requireSecretReadable checks an execution role policy grants GetSecretValue on the secret.
func (m *module) requireSecretReadable(t *testing.T, secret string) {
	t.Helper()
	for _, stmts := range m.policyStatements() {
		for _, st := range stmts {
			if slices.Contains(literalStrings(t, attr(st, "actions")), "secretsmanager:GetSecretValue") &&
				m.refersTo(attr(st, "resources"), "aws_secretsmanager_secret."+secret+".arn") {
				require.NotContains(t, m.text(attr(st, "resources")), `"*"`)
				return
			}
		}
	}
	t.Fatalf("no policy lets ECS read aws_secretsmanager_secret.%s", secret)
}

func TestECSServices(t *testing.T) {
	m := load(t)
	roles, ok := m.resolve(&hclsyntax.ScopeTraversalExpr{Traversal: hcl.Traversal{hcl.TraverseRoot{Name: "local"}, hcl.TraverseAttr{Name: "roles"}}}).(*hclsyntax.ObjectConsExpr)
	require.True(t, ok, "local.roles: one entry per role")
	var names []string
	for _, it := range roles.Items {
		names = append(names, keyName(it.KeyExpr))
	}
	sort.Strings(names)
	require.Equal(t, []string{"compactor", "grpc", "ingest", "reader"}, names)
	// The roles each service's tasks run: one each, and both client-facing ones
	// behind the gRPC endpoint (a connection's calls all reach one task).
	for _, it := range roles.Items {
		obj, ok := it.ValueExpr.(*hclsyntax.ObjectConsExpr)
		require.True(t, ok)
		fr, ok := literalString(field(obj, "floe_roles"))
		require.True(t, ok, "local.roles.%s.floe_roles: a literal", keyName(it.KeyExpr))
		want := map[string]string{"ingest": "ingest", "reader": "reader", "compactor": "compactor", "grpc": "ingest,reader"}
		require.Equal(t, want[keyName(it.KeyExpr)], fr, "local.roles.%s.floe_roles", keyName(it.KeyExpr))
	}
	deployed := m.text(m.locals()["deployed_roles"].Expr)
	require.Contains(t, deployed, "local.roles")
	require.Contains(t, deployed, "var.grpc_enabled", "the grpc service exists only when enabled")

	td := m.resources("aws_ecs_task_definition")["floe"]
	require.NotNil(t, td)
	require.Equal(t, "local.deployed_roles", m.text(attr(td, "for_each")))
	require.Equal(t, "local.deployed_roles", m.text(attr(m.resources("aws_cloudwatch_log_group")["floe"], "for_each")))
	require.Equal(t, []string{"FARGATE"}, literalStrings(t, attr(td, "requires_compatibilities")))
	for _, c := range containerDefs(t, td) {
		require.Equal(t, []string{"serve"}, literalStrings(t, field(c, "command")))
		require.Regexp(t, `FLOE_ROLES\s*=\s*each\.value\.floe_roles`, m.text(field(c, "environment")), "FLOE_ROLES is the service's roles")
		require.Regexp(t, `FLOE_MEMORY_LIMIT\s*=\s*tostring\(floor\(each\.value\.memory \* 0\.9\) \* 1048576\)`, m.text(field(c, "environment")),
			"the Go memory limit follows the task's memory")

		hc, ok := field(c, "healthCheck").(*hclsyntax.ObjectConsExpr)
		require.True(t, ok, "container health check")
		cmd := literalStrings(t, field(hc, "command"))
		require.Equal(t, "/floe", cmd[1])
		require.Equal(t, "health", cmd[2])

		logs := m.text(field(c, "logConfiguration"))
		require.Contains(t, logs, `"awslogs"`)
		require.Contains(t, logs, "aws_cloudwatch_log_group.")
	}
	for _, lg := range m.resources("aws_cloudwatch_log_group") {
		days, _ := m.number(t, attr(lg, "retention_in_days"))
		require.Greater(t, days, 0.0, "log retention")
	}

	// Every role has a service, in the private subnets, without public IPs.
	lb := m.resources("aws_ecs_service")["floe"]
	require.NotNil(t, lb)
	require.Equal(t, "local.load_balanced_roles", m.text(attr(lb, "for_each")))
	lbRoles, _ := literal(m.resolve(&hclsyntax.ScopeTraversalExpr{Traversal: hcl.Traversal{hcl.TraverseRoot{Name: "local"}, hcl.TraverseAttr{Name: "load_balanced_roles"}}}).(*hclsyntax.FunctionCallExpr).Args[0])
	require.Equal(t, cty.TupleVal([]cty.Value{cty.StringVal("ingest"), cty.StringVal("reader")}), lbRoles)
	compactor := m.resources("aws_ecs_service")["compactor"]
	require.NotNil(t, compactor)
	require.Contains(t, m.text(attr(compactor, "task_definition")), `["compactor"]`)
	grpc := m.resources("aws_ecs_service")["grpc"]
	require.NotNil(t, grpc)
	require.Contains(t, m.text(attr(grpc, "task_definition")), `["grpc"]`)
	require.Len(t, m.resources("aws_ecs_service"), 3)
	for _, svc := range []*hclsyntax.Block{lb, compactor, grpc} {
		lt, _ := literalString(attr(svc, "launch_type"))
		require.Equal(t, "FARGATE", lt)
		net := nested(svc, "network_configuration")
		require.Len(t, net, 1)
		m.requireBool(t, net[0], "assign_public_ip", false)
		require.Equal(t, "local.private_subnet_ids", m.text(attr(net[0], "subnets")))
	}
	// Autoscaling owns the desired count of the load-balanced services.
	for _, svc := range []*hclsyntax.Block{lb, grpc} {
		lc := nested(svc, "lifecycle")
		require.Len(t, lc, 1)
		require.Contains(t, m.text(attr(lc[0], "ignore_changes")), "desired_count")
	}
}

// ---- ALB -----------------------------------------------------------------------

func TestLoadBalancer(t *testing.T) {
	m := load(t)
	lbs := m.resources("aws_lb")
	require.Len(t, lbs, 2, "the ALB (HTTP API) and the gRPC NLB")
	alb := lbs["this"]
	require.NotNil(t, alb)
	lt, _ := literalString(attr(alb, "load_balancer_type"))
	require.Equal(t, "application", lt)
	m.requireBool(t, alb, "internal", false)
	require.Equal(t, "local.public_subnet_ids", m.text(attr(alb, "subnets")))
	idle, floor := m.number(t, attr(alb, "idle_timeout"))
	require.GreaterOrEqual(t, idle, 60.0)
	require.GreaterOrEqual(t, floor, 60.0, "idle timeout validated >= 60")

	for name, tg := range m.resources("aws_lb_target_group") {
		hc := nested(tg, "health_check")
		require.Len(t, hc, 1, name)
		p, _ := literalString(attr(hc[0], "path"))
		require.Equal(t, "/healthz", p)
		tt, _ := literalString(attr(tg, "target_type"))
		require.Equal(t, "ip", tt)
	}

	// HTTPS exactly when a certificate is given.
	https := m.resources("aws_lb_listener")["https"]
	require.NotNil(t, https)
	require.Contains(t, m.text(attr(https, "count")), "local.https")
	require.Contains(t, m.text(m.resolve(&hclsyntax.ScopeTraversalExpr{Traversal: hcl.Traversal{hcl.TraverseRoot{Name: "local"}, hcl.TraverseAttr{Name: "https"}}})), "var.certificate_arn")
	require.Equal(t, "var.certificate_arn", m.text(attr(https, "certificate_arn")))
}

type albRule struct {
	priority int
	paths    []string
	methods  []string
	target   string // target group key, or "fixed"
}

// albGlob matches an ALB path pattern: * is any run of characters, ? one.
func albGlob(pattern, s string) bool {
	re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pattern)) + "$"
	return regexp.MustCompile(re).MatchString(s)
}

func (m *module) targetOf(t *testing.T, action *hclsyntax.Block) string {
	t.Helper()
	typ, _ := literalString(attr(action, "type"))
	if typ == "fixed-response" {
		return "fixed"
	}
	mm := regexp.MustCompile(`aws_lb_target_group\.floe\["([a-z]+)"\]\.arn`).FindStringSubmatch(m.text(attr(action, "target_group_arn")))
	require.NotNil(t, mm, "forward action: %s", m.text(attr(action, "target_group_arn")))
	return mm[1]
}

func TestLoadBalancerRouting(t *testing.T) {
	m := load(t)
	var rules []albRule
	for name, r := range m.resources("aws_lb_listener_rule") {
		require.Equal(t, "local.api_listener_arn", m.text(attr(r, "listener_arn")), name)
		p, _ := m.number(t, attr(r, "priority"))
		rule := albRule{priority: int(p)}
		for _, c := range nested(r, "condition") {
			for _, pp := range nested(c, "path_pattern") {
				rule.paths = append(rule.paths, literalStrings(t, attr(pp, "values"))...)
			}
			for _, hm := range nested(c, "http_request_method") {
				rule.methods = append(rule.methods, literalStrings(t, attr(hm, "values"))...)
			}
		}
		actions := nested(r, "action")
		require.Len(t, actions, 1, name)
		rule.target = m.targetOf(t, actions[0])
		rules = append(rules, rule)
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].priority < rules[j].priority })

	https := m.resources("aws_lb_listener")["https"]
	def := m.targetOf(t, nested(https, "default_action")[0])
	require.Equal(t, "reader", def, "default route")
	require.Contains(t, m.text(m.resolve(&hclsyntax.ScopeTraversalExpr{Traversal: hcl.Traversal{hcl.TraverseRoot{Name: "local"}, hcl.TraverseAttr{Name: "api_listener_arn"}}})), "aws_lb_listener.https")

	route := func(method, path string) string {
		path, _, _ = strings.Cut(path, "?")
		for _, r := range rules {
			if len(r.methods) > 0 && !slices.Contains(r.methods, method) {
				continue
			}
			if len(r.paths) > 0 && !slices.ContainsFunc(r.paths, func(p string) bool { return albGlob(p, path) }) {
				continue
			}
			return r.target
		}
		return def
	}
	cases := []struct{ method, path, want string }{
		{"POST", "/v1/topics/orders/messages/recall", "ingest"},
		{"POST", "/v1/topics/orders/messages", "ingest"},
		{"POST", "/v1/topics/orders/transactions", "ingest"},
		{"POST", "/v1/transactions/tx-1/commit", "ingest"},
		{"POST", "/v1/transactions/tx-1/rollback", "ingest"},
		{"GET", "/v1/producer-groups/pg/transaction-checks?waitSeconds=10", "ingest"},
		{"POST", "/v1/groups/billing/topics/orders/receive", "reader"},
		{"POST", "/v1/groups/billing/topics/orders/ack", "reader"},
		{"POST", "/v1/groups/billing/topics/orders/nack", "reader"},
		{"POST", "/v1/groups/billing/topics/orders/change-invisible", "reader"},
		{"POST", "/v1/groups/billing/topics/orders/change-invisible-batch", "reader"},
		{"POST", "/v1/groups/billing/topics/orders/reset", "reader"},
		{"GET", "/v1/topics/orders/queues/3/messages?offset=0", "reader"},
		{"GET", "/v1/topics/orders/messages?key=order-1", "reader"},
		{"GET", "/v1/topics/orders/messages/0A1B2C", "reader"},
		{"GET", "/v1/topics/orders/messages/0A1B2C/trace", "reader"},
		{"POST", "/v1/topics", "reader"},
		{"GET", "/v1/groups/billing/lag", "reader"},
		{"GET", "/v1/groups/billing/lag/history", "reader"},
		{"GET", "/healthz", "reader"},
		{"GET", "/metrics", "fixed"},
	}
	// Every route of the API, from its OpenAPI document: a route added there is routed
	// here, or this test fails. Reader nodes serve the routes of every role ("any").
	spec, err := httpapi.Routes()
	require.NoError(t, err)
	for _, r := range spec {
		want := r.Role
		switch {
		case r.Path == "/metrics":
			want = "fixed"
		case want == "any":
			want = "reader"
		}
		cases = append(cases, struct{ method, path, want string }{r.Method, r.ExamplePath(), want})
	}
	for _, c := range cases {
		require.Equal(t, c.want, route(c.method, c.path), "%s %s", c.method, c.path)
	}
}

// ---- autoscaling -------------------------------------------------------------

func TestReaderAutoscaling(t *testing.T) {
	m := load(t)
	var target string
	for name, tg := range m.resources("aws_appautoscaling_target") {
		if !strings.Contains(m.text(attr(tg, "resource_id")), `aws_ecs_service.floe["reader"]`) {
			continue
		}
		target = name
		ns, _ := literalString(attr(tg, "service_namespace"))
		require.Equal(t, "ecs", ns)
		dim, _ := literalString(attr(tg, "scalable_dimension"))
		require.Equal(t, "ecs:service:DesiredCount", dim)
		require.True(t, m.refersTo(attr(tg, "min_capacity"), "var.reader_min"))
		require.True(t, m.refersTo(attr(tg, "max_capacity"), "var.reader_max"))
	}
	require.NotEmpty(t, target, "the reader service needs an aws_appautoscaling_target")

	predefined := map[string]*hclsyntax.Block{}
	var custom []*hclsyntax.Block
	policies := 0
	for name, p := range m.resources("aws_appautoscaling_policy") {
		if !m.refersTo(attr(p, "resource_id"), "aws_appautoscaling_target."+target) {
			continue
		}
		policies++
		typ, _ := literalString(attr(p, "policy_type"))
		require.Equal(t, "TargetTrackingScaling", typ, name)
		cfg := nested(p, "target_tracking_scaling_policy_configuration")
		require.Len(t, cfg, 1)
		for _, pm := range nested(cfg[0], "predefined_metric_specification") {
			mt, _ := literalString(attr(pm, "predefined_metric_type"))
			predefined[mt] = pm
		}
		custom = append(custom, nested(cfg[0], "customized_metric_specification")...)
	}
	require.GreaterOrEqual(t, policies, 3)
	require.Contains(t, predefined, "ECSServiceAverageCPUUtilization")
	require.Contains(t, predefined, "ALBRequestCountPerTarget")
	label := m.text(attr(predefined["ALBRequestCountPerTarget"], "resource_label"))
	require.Regexp(t, `^"\$\{aws_lb\.[a-z0-9_]+\.arn_suffix}/\$\{aws_lb_target_group\.floe\["reader"\]\.arn_suffix}"$`, label)

	// The accumulation policy: metric math over Floe/ConsumerLag.
	require.Len(t, custom, 1, "one customized-metric (consumer lag) policy")
	var namespaces, names []string
	returned := 0
	for _, q := range nested(custom[0], "metrics") {
		if v, ok := literal(attr(q, "return_data")); ok && v.True() {
			returned++
			require.NotNil(t, attr(q, "expression"), "the returned series is the per-task expression")
		}
		for _, metric := range path(q, "metric_stat", "metric") {
			ns, ok := m.value(attr(metric, "namespace"))
			require.True(t, ok)
			mn, ok := m.value(attr(metric, "metric_name"))
			require.True(t, ok)
			namespaces = append(namespaces, ns.AsString())
			names = append(names, mn.AsString())
		}
	}
	require.Equal(t, 1, returned)
	require.Contains(t, namespaces, "Floe")
	require.Contains(t, names, "ConsumerLag")
	require.Contains(t, names, "RunningTaskCount")

	// RunningTaskCount comes from Container Insights.
	cluster := m.resources("aws_ecs_cluster")["this"]
	settings := nested(cluster, "setting")
	require.NotEmpty(t, settings)
	ci, _ := literalString(attr(settings[0], "value"))
	require.Equal(t, "enabled", ci)
}

func TestVariablesDescribed(t *testing.T) {
	m := load(t)
	vars := m.variables()
	require.NotEmpty(t, vars)
	for name, v := range vars {
		d, ok := literalString(attr(v, "description"))
		require.True(t, ok && len(strings.TrimSpace(d)) > 10, "variable %s needs a description", name)
		require.NotNil(t, attr(v, "type"), "variable %s needs a type", name)
	}
	for _, name := range []string{"image", "reader_min", "reader_max", "ingest_count", "db_instance_class", "certificate_arn", "vpc_id"} {
		require.Contains(t, vars, name)
	}
	require.Nil(t, attr(vars["image"], "default"), "image is required")
	for _, b := range m.blocks {
		if b.Type == "output" {
			d, ok := literalString(attr(b, "description"))
			require.True(t, ok && d != "", "output %s needs a description", b.Labels[0])
		}
	}
	outputs := map[string]bool{}
	for _, b := range m.blocks {
		if b.Type == "output" {
			outputs[b.Labels[0]] = true
		}
	}
	for _, o := range []string{"endpoint_url", "bucket_name", "db_endpoint"} {
		require.True(t, outputs[o], "output %s", o)
	}
}

// ---- gRPC -------------------------------------------------------------------------

// TestGRPCEndpoint checks the RocketMQ 5 gRPC endpoint: an NLB TCP listener on 8081
// passing connections to the grpc service's tasks, which run the ingest and reader
// roles and listen on 8081, reachable from the NLB only.
func TestGRPCEndpoint(t *testing.T) {
	m := load(t)
	locals := m.locals()
	port, _ := m.number(t, locals["grpc_port"].Expr)
	require.Equal(t, 8081.0, port, "local.grpc_port")
	enabled, ok := m.value(&hclsyntax.ScopeTraversalExpr{Traversal: hcl.Traversal{hcl.TraverseRoot{Name: "var"}, hcl.TraverseAttr{Name: "grpc_enabled"}}})
	require.True(t, ok)
	require.True(t, enabled.True(), "gRPC is on by default")
	require.Contains(t, m.text(locals["grpc_count"].Expr), "var.grpc_enabled")

	// Every client-facing resource exists only when gRPC is enabled.
	for typ, name := range map[string]string{"aws_lb": "grpc", "aws_lb_target_group": "grpc", "aws_lb_listener": "grpc",
		"aws_ecs_service": "grpc", "aws_security_group": "grpc_lb", "aws_appautoscaling_target": "grpc"} {
		b := m.resources(typ)[name]
		require.NotNil(t, b, "%s.%s", typ, name)
		require.Equal(t, "local.grpc_count", m.text(attr(b, "count")), "%s.%s", typ, name)
	}

	// The NLB: public, in the public subnets, cross-zone, behind its own security group.
	nlb := m.resources("aws_lb")["grpc"]
	lt, _ := literalString(attr(nlb, "load_balancer_type"))
	require.Equal(t, "network", lt)
	m.requireBool(t, nlb, "internal", false)
	m.requireBool(t, nlb, "enable_cross_zone_load_balancing", true)
	require.Equal(t, "local.public_subnet_ids", m.text(attr(nlb, "subnets")))
	require.True(t, m.refersTo(attr(nlb, "security_groups"), "aws_security_group.grpc_lb"))

	// TCP passthrough on 8081: TLS is Floe's own, plaintext HTTP/2 passes too.
	l := m.resources("aws_lb_listener")["grpc"]
	require.True(t, m.refersTo(attr(l, "load_balancer_arn"), "aws_lb.grpc"))
	require.Equal(t, "local.grpc_port", m.text(attr(l, "port")))
	proto, _ := literalString(attr(l, "protocol"))
	require.Equal(t, "TCP", proto, "a TLS listener would end the clients' TLS at the NLB")
	require.Nil(t, attr(l, "certificate_arn"))
	da := nested(l, "default_action")
	require.Len(t, da, 1)
	require.True(t, m.refersTo(attr(da[0], "target_group_arn"), "aws_lb_target_group.grpc"))

	tg := m.resources("aws_lb_target_group")["grpc"]
	proto, _ = literalString(attr(tg, "protocol"))
	require.Equal(t, "TCP", proto)
	require.Equal(t, "local.grpc_port", m.text(attr(tg, "port")))
	pci, _ := literalString(attr(tg, "preserve_client_ip"))
	require.Equal(t, "false", pci, "the tasks admit the NLB's security group, so they must see the NLB's address")
	hc := nested(tg, "health_check")[0]
	hp, _ := literalString(attr(hc, "protocol"))
	require.Equal(t, "HTTP", hp)
	require.Contains(t, m.text(attr(hc, "port")), "local.floe_port", "health over HTTP on the API port")
	delay, _ := m.number(t, attr(tg, "deregistration_delay"))
	require.Less(t, delay, 60.0, "connections close before the task's stopTimeout ends")

	// The service: the grpc task definition, registered by its gRPC port.
	svc := m.resources("aws_ecs_service")["grpc"]
	lbs := nested(svc, "load_balancer")
	require.Len(t, lbs, 1)
	require.True(t, m.refersTo(attr(lbs[0], "target_group_arn"), "aws_lb_target_group.grpc"))
	require.Equal(t, "local.grpc_port", m.text(attr(lbs[0], "container_port")))
	require.Contains(t, m.text(attr(svc, "depends_on")), "aws_lb_listener.grpc")
	as := m.resources("aws_appautoscaling_target")["grpc"]
	require.Contains(t, m.text(attr(as, "resource_id")), "aws_ecs_service.grpc")
	require.True(t, m.refersTo(attr(as, "min_capacity"), "var.grpc_count"))
	require.True(t, m.refersTo(attr(as, "max_capacity"), "var.grpc_max"))

	// The container listens on 8081 for gRPC and maps the port.
	td := m.resources("aws_ecs_task_definition")["floe"]
	for _, c := range containerDefs(t, td) {
		ports, ok := field(c, "portMappings").(*hclsyntax.TupleConsExpr)
		require.True(t, ok, "portMappings: a list")
		var mapped []string
		for _, e := range ports.Exprs {
			mapped = append(mapped, m.text(field(e.(*hclsyntax.ObjectConsExpr), "containerPort")))
		}
		require.ElementsMatch(t, []string{"local.floe_port", "local.grpc_port"}, mapped)
	}
	env, ok := m.resolve(&hclsyntax.ScopeTraversalExpr{Traversal: hcl.Traversal{hcl.TraverseRoot{Name: "local"}, hcl.TraverseAttr{Name: "floe_environment"}}}).(*hclsyntax.FunctionCallExpr)
	require.True(t, ok, "local.floe_environment = merge(...)")
	require.Regexp(t, `FLOE_GRPC_LISTEN\s*=\s*":\$\{local\.grpc_port}"`, m.text(env))

	// Security groups: clients reach the NLB on 8081 only; the tasks admit the NLB's
	// group (gRPC and health check) and the ALB's, never a CIDR.
	in := m.resources("aws_vpc_security_group_ingress_rule")
	clients := in["grpc_lb_clients"]
	require.NotNil(t, clients)
	require.Equal(t, "aws_security_group.grpc_lb[0].id", m.text(attr(clients, "security_group_id")))
	require.Contains(t, m.text(attr(clients, "for_each")), "var.allowed_cidr_blocks")
	require.Equal(t, "local.grpc_port", m.text(attr(clients, "from_port")))
	require.Equal(t, "local.grpc_port", m.text(attr(clients, "to_port")))
	fromNLB := in["tasks_from_grpc_lb"]
	require.NotNil(t, fromNLB)
	require.Equal(t, "aws_security_group.tasks.id", m.text(attr(fromNLB, "security_group_id")))
	require.Equal(t, "aws_security_group.grpc_lb[0].id", m.text(attr(fromNLB, "referenced_security_group_id")))
	for _, p := range []string{"local.grpc_port", "local.floe_port"} {
		require.Contains(t, m.text(attr(fromNLB, "for_each")), p)
		require.Contains(t, m.text(m.resources("aws_vpc_security_group_egress_rule")["grpc_lb_to_tasks"]), p)
	}
	for name, r := range in {
		if m.text(attr(r, "security_group_id")) == "aws_security_group.tasks.id" {
			require.Nil(t, attr(r, "cidr_ipv4"), "%s: the tasks admit load balancers only", name)
			require.NotNil(t, attr(r, "referenced_security_group_id"), name)
		}
	}

	// The endpoint is an output, host:8081.
	for _, b := range m.blocks {
		if b.Type == "output" && b.Labels[0] == "grpc_endpoint" {
			require.Contains(t, m.text(attr(b, "value")), "aws_lb.grpc[0].dns_name")
			require.Contains(t, m.text(attr(b, "value")), "local.grpc_port")
			return
		}
	}
	t.Fatal("no grpc_endpoint output")
}
