<?php
// The course fixture of the e2e Moodle tier, made with Moodle's own PHP APIs, idempotent: every run
// brings the site back to the same state and prints it as JSON. scripts/setup-moodle.sh runs it
// (with --config and --admin-password); the tests run it again through that script with the URL,
// secret and admin token of the hub they started.
//
// Options (all --name=value):
//   --config=PATH            Moodle's top-level config.php (required)
//   --admin-password=PASS    the site administrator's password (printed back for the tests)
//   --tool-url=URL           the LTI 1.1 launch URL of the hub (http://127.0.0.1:8000/hub/lti/launch)
//   --lti13-hub=URL          the hub's base URL for the LTI 1.3 tool "Jupyter 1.3" (http://127.0.0.1:8000):
//                            its login URL <URL>/hub/lti13/login, launch URL <URL>/hub/lti13/launch
//   --consumer-key=KEY       the LTI consumer key (moodle)
//   --consumer-secret=SECRET the LTI shared secret (secret)
//   --hub-url=URL            mod_lticontainer's "JupyterHub URL" (http://127.0.0.1:8000)
//   --api-token=TOKEN        mod_lticontainer's "JupyterHub API Token", the hub's admin token
//   --engine=docker|podman   mod_lticontainer's container system (docker)
//   --launch-container=window|embed   the tool's default launch container (window)
//   --lti13-registered-client=ID   the client id Moodle gave a hub that registered itself by LTI
//                            Dynamic Registration (the test drives Manage tools > Add LTI Advantage):
//                            that pending tool is activated as the admin does in the tool list, opens
//                            in the --launch-container, and gets the activity "Jupyter 1.3 registered"
//                            (printed as lti13_registered)
//   --accept-grades=0|1      whether the LTI 1.1 activity accepts grades from the tool (0): with 1 its
//                            launches carry lis_outcome_service_url and lis_result_sourcedid, its grade
//                            item is out of 100 and emptied (every run starts without grades)
//   --ags=0|1                with --lti13-registered-client: whether the registered tool uses LTI 1.3
//                            Assignment and Grade Services (0): with 1 its ltiservice_gradesynchronization
//                            is 2 ("for grade sync and column management"), so its launches carry the AGS
//                            claim, and its activity's grade item is out of 100 and emptied
//   --lms=NAME=VALUE         what the teacher sets on mod_lticontainer's "LTI Edit" tab; repeatable
//                            (lms_users, lms_teachers, lms_image, lms_cpulimit, lms_memlimit,
//                            lms_defurl, lms_vol_NAME / lms_sub_NAME / lms_prs_NAME = link[:users],
//                            lms_sub_NAME_close = YYYY-MM-DD HH:MM); defaults lms_users=*,
//                            lms_teachers=teacher1, lms_image=lticontainer-test/jupyter:latest
//
// The "LTI Edit" tab is reproduced with the plugin's own functions (classes/lti_edit.class.php, the
// POST branch of LTIEdit::execute()): the page itself lists images over ssh to the hub's host
// before it reads a POST, which a test machine has no sshd for.

$opts = ['config' => '', 'admin-password' => '', 'tool-url' => 'http://127.0.0.1:8000/hub/lti/launch',
    'lti13-hub' => 'http://127.0.0.1:8000',
    'consumer-key' => 'moodle', 'consumer-secret' => 'secret', 'hub-url' => 'http://127.0.0.1:8000',
    'api-token' => '', 'engine' => 'docker', 'launch-container' => 'window', 'lti13-registered-client' => '',
    'accept-grades' => '0', 'ags' => '0'];
$lms = [];
foreach (array_slice($argv, 1) as $arg) {
    if (!preg_match('/^--([a-z0-9-]+)=(.*)$/s', $arg, $m)) {
        fwrite(STDERR, "fixture.php: expected --name=value, got " . var_export($arg, true) . "\n");
        exit(2);
    }
    if ($m[1] === 'lms') {
        [$name, $value] = array_pad(explode('=', $m[2], 2), 2, '');
        $lms[$name] = $value;
    } else if (array_key_exists($m[1], $opts)) {
        $opts[$m[1]] = $m[2];
    } else {
        fwrite(STDERR, "fixture.php: unknown option --{$m[1]}\n");
        exit(2);
    }
}
if ($opts['config'] === '' || !is_file($opts['config'])) {
    fwrite(STDERR, "fixture.php: --config must name Moodle's config.php\n");
    exit(2);
}

define('CLI_SCRIPT', true);
require($opts['config']);
require_once($CFG->libdir . '/clilib.php');
require_once($CFG->dirroot . '/course/lib.php');
require_once($CFG->dirroot . '/course/modlib.php');
require_once($CFG->dirroot . '/user/lib.php');
require_once($CFG->libdir . '/enrollib.php');
require_once($CFG->dirroot . '/mod/lti/lib.php');
require_once($CFG->dirroot . '/mod/lti/locallib.php');
require_once($CFG->dirroot . '/mod/lticontainer/locallib.php');

$containers = ['window' => LTI_LAUNCH_CONTAINER_WINDOW, 'embed' => LTI_LAUNCH_CONTAINER_EMBED];
if (!isset($containers[$opts['launch-container']]) || !in_array($opts['engine'], ['docker', 'podman'])) {
    fwrite(STDERR, "fixture.php: --launch-container is window or embed, --engine docker or podman\n");
    exit(2);
}
$lms += ['lms_users' => '*', 'lms_teachers' => 'teacher1', 'lms_image' => 'lticontainer-test/jupyter:latest'];

// Everything below runs as the site administrator, like an admin clicking through the UI.
$admin = get_admin();
\core\session\manager::set_user($admin);
$out = ['moodle_url' => $CFG->wwwroot, 'admin' => ['username' => $admin->username,
    'password' => $opts['admin-password']]];

// ---- mail: no MTA here; without a valid no-reply address enrolments fail ("Invalid address").
set_config('noreplyaddress', 'noreply@example.com');
set_config('noemailever', 1);
// Moodle fetches a 1.3 tool's key set (the hub's /hub/lti13/jwks, to check the hub's service-token
// assertion) with its curl wrapper, which by default refuses loopback hosts and ports other than
// 80 and 443. The hub under test is on 127.0.0.1 at a test port: loopback is let through, the other
// private ranges stay blocked; any port.
set_config('curlsecurityblockedhosts', implode("\n", ['192.168.0.0/16', '10.0.0.0/8', '172.16.0.0/12', '0.0.0.0',
    '169.254.169.254', '0000::1']));
set_config('curlsecurityallowedport', '');

// ---- web services: REST on, the plugin's service (db/services.php) with admin authorised, a token
set_config('enablewebservices', 1);
$protocols = array_filter(explode(',', (string)get_config('core', 'webserviceprotocols')));
if (!in_array('rest', $protocols)) {
    $protocols[] = 'rest';
    set_config('webserviceprotocols', implode(',', $protocols));
}
$service = $DB->get_record('external_services', ['shortname' => 'mod_lticontainer'], '*', MUST_EXIST);
$DB->set_field('external_services', 'enabled', 1, ['id' => $service->id]);
if (!$DB->record_exists('external_services_users', ['externalserviceid' => $service->id, 'userid' => $admin->id])) {
    $DB->insert_record('external_services_users', (object)['externalserviceid' => $service->id,
        'userid' => $admin->id, 'iprestriction' => null, 'validuntil' => null, 'timecreated' => time()]);
}
$tokenname = 'lticontainer-e2e';
$tokenrec = $DB->get_record('external_tokens', ['externalserviceid' => $service->id, 'userid' => $admin->id,
    'tokentype' => EXTERNAL_TOKEN_PERMANENT, 'name' => $tokenname], '*', IGNORE_MULTIPLE);
$wstoken = $tokenrec ? $tokenrec->token : \core_external\util::generate_token(EXTERNAL_TOKEN_PERMANENT,
    $service, $admin->id, context_system::instance(), 0, '', $tokenname);
$out['ws_token'] = $wstoken;

// ---- the course
$course = $DB->get_record('course', ['shortname' => 'DS101']);
if (!$course) {
    $course = create_course((object)['fullname' => 'Data Science 101', 'shortname' => 'DS101',
        'idnumber' => 'DS101', 'category' => core_course_category::get_default()->id, 'summary' => '',
        'summaryformat' => FORMAT_HTML, 'format' => 'topics', 'numsections' => 1, 'visible' => 1]);
}
course_create_sections_if_missing($course, [0, 1]);
$out['course'] = ['id' => (int)$course->id, 'shortname' => $course->shortname, 'fullname' => $course->fullname];

// ---- people: a teacher and students, among them an e-mail-style login and a non-ASCII full name
$people = [
    ['teacher1', 'Teacher1-pass', 'Taro', 'Teacher', 'editingteacher'],
    ['student1', 'Student1-pass', 'Hanako', 'Student', 'student'],
    ['student2', 'Student2-pass', 'Jiro', 'Student', 'student'],
    ['hanako.yamada@example.com', 'Yamada-pass-1', 'Hanako', 'Yamada', 'student'],
    ['kenji', 'Kenji-pass-1', '健二', '佐藤', 'student'],
];
$manual = enrol_get_plugin('manual');
$enrol = $DB->get_record('enrol', ['courseid' => $course->id, 'enrol' => 'manual'], '*', IGNORE_MULTIPLE);
if (!$enrol) {
    $manual->add_default_instance($course);
    $enrol = $DB->get_record('enrol', ['courseid' => $course->id, 'enrol' => 'manual'], '*', MUST_EXIST);
}
$out['users'] = [];
foreach ($people as [$username, $password, $first, $last, $roleshortname]) {
    $u = $DB->get_record('user', ['username' => $username, 'mnethostid' => $CFG->mnet_localhost_id, 'deleted' => 0]);
    if (!$u) {
        $uid = user_create_user((object)['username' => $username, 'password' => $password, 'auth' => 'manual',
            'confirmed' => 1, 'mnethostid' => $CFG->mnet_localhost_id, 'firstname' => $first, 'lastname' => $last,
            'email' => str_contains($username, '@') ? $username : "$username@example.com", 'lang' => 'en']);
        $u = $DB->get_record('user', ['id' => $uid], '*', MUST_EXIST);
    } else {
        update_internal_user_password($u, $password);
    }
    unset_user_preference('auth_forcepasswordchange', $u);
    $role = $DB->get_record('role', ['shortname' => $roleshortname], '*', MUST_EXIST);
    $manual->enrol_user($enrol, $u->id, $role->id);
    $out['users'][$username] = ['id' => (int)$u->id, 'password' => $password, 'fullname' => fullname($u),
        'role' => $roleshortname];
}

// ---- the LTI 1.1 site tool (Site administration > External tool > configure a tool manually)
$typeconfig = (object)[
    'lti_typename' => 'Jupyter', 'lti_toolurl' => $opts['tool-url'], 'lti_description' => 'the hub under test',
    'lti_ltiversion' => LTI_VERSION_1, 'lti_resourcekey' => $opts['consumer-key'],
    'lti_password' => $opts['consumer-secret'], 'lti_customparameters' => '',
    'lti_coursevisible' => LTI_COURSEVISIBLE_ACTIVITYCHOOSER,
    'lti_launchcontainer' => $containers[$opts['launch-container']],
    'lti_contentitem' => 0, 'lti_toolurl_ContentItemSelectionRequest' => '', 'lti_icon' => '', 'lti_secureicon' => '',
    'lti_sendname' => LTI_SETTING_ALWAYS, 'lti_sendemailaddr' => LTI_SETTING_ALWAYS,
    'lti_acceptgrades' => LTI_SETTING_DELEGATE, 'lti_forcessl' => 0,
    'lti_organizationid_default' => LTI_DEFAULT_ORGID_SITEID, 'lti_organizationid' => '', 'lti_organizationurl' => '',
    'ltiservice_gradesynchronization' => 0, 'ltiservice_memberships' => 0, 'ltiservice_toolsettings' => 0,
];
$type = $DB->get_record('lti_types', ['name' => 'Jupyter', 'course' => SITEID, 'ltiversion' => LTI_VERSION_1],
    '*', IGNORE_MULTIPLE);
if ($type) {
    lti_update_type((object)['id' => $type->id, 'state' => LTI_TOOL_STATE_CONFIGURED], clone $typeconfig);
    $typeid = $type->id;
} else {
    $typeid = lti_add_type((object)['state' => LTI_TOOL_STATE_CONFIGURED, 'course' => SITEID], clone $typeconfig);
}

// ---- the LTI 1.3 site tool, registered as an admin does by hand ("configure a tool manually",
// LTI version 1.3): a fixed client id so a hub's config can name it before the fixture runs; the
// deployment id is the type's id. The tool's own key (needed only for services) is not set up.
$hub13 = rtrim($opts['lti13-hub'], '/');
$client13 = 'lticontainer-e2e-lti13';
$typeconfig13 = clone $typeconfig;
$typeconfig13->lti_typename = 'Jupyter 1.3';
$typeconfig13->lti_toolurl = "$hub13/hub/lti13/launch";
$typeconfig13->lti_ltiversion = LTI_VERSION_1P3;
$typeconfig13->lti_clientid = $client13;
$typeconfig13->lti_resourcekey = '';
$typeconfig13->lti_password = '';
$typeconfig13->lti_initiatelogin = "$hub13/hub/lti13/login";
$typeconfig13->lti_redirectionuris = "$hub13/hub/lti13/launch";
$typeconfig13->lti_keytype = LTI_JWK_KEYSET;
$typeconfig13->lti_publickeyset = "$hub13/hub/lti13/jwks";
$typeconfig13->lti_publickey = '';
$type13 = $DB->get_record('lti_types', ['name' => 'Jupyter 1.3', 'course' => SITEID, 'ltiversion' => LTI_VERSION_1P3],
    '*', IGNORE_MULTIPLE);
if ($type13) {
    lti_update_type((object)['id' => $type13->id, 'state' => LTI_TOOL_STATE_CONFIGURED], clone $typeconfig13);
    $typeid13 = $type13->id;
} else {
    $typeid13 = lti_add_type((object)['state' => LTI_TOOL_STATE_CONFIGURED, 'course' => SITEID], clone $typeconfig13);
}

/** The course module and instance ids of the activity `$name` of module `$modname` in course `$courseid`, or null. */
function fixture_find_cm(int $courseid, string $modname, string $name): ?object {
    global $DB;
    $recs = $DB->get_records_sql("SELECT cm.id AS cmid, m.id AS instanceid
              FROM {course_modules} cm
              JOIN {modules} md ON md.id = cm.module AND md.name = :modname
              JOIN {{$modname}} m ON m.id = cm.instance
             WHERE cm.course = :course AND m.name = :name AND cm.deletioninprogress = 0
          ORDER BY cm.id", ['modname' => $modname, 'course' => $courseid, 'name' => $name], 0, 1);
    return $recs ? reset($recs) : null;
}

/** An activity description for create_module. */
function fixture_intro(string $text): array {
    return ['text' => $text, 'format' => FORMAT_HTML, 'itemid' => file_get_unused_draft_itemid()];
}

/** The External tool activity `$name` of course `$course` made from site tool `$typeid` (as 5.1's
 * activity chooser makes it) unless it exists; its course module and instance ids. */
function fixture_lti_activity(object $course, string $name, string $intro, int $typeid): object {
    $cm = fixture_find_cm($course->id, 'lti', $name);
    if ($cm) {
        return $cm;
    }
    $mi = create_module((object)['modulename' => 'lti', 'course' => $course->id, 'section' => 1, 'visible' => 1,
        'name' => $name, 'introeditor' => fixture_intro("<p>$intro</p>"),
        'typeid' => $typeid, 'toolurl' => '', 'securetoolurl' => '', 'launchcontainer' => LTI_LAUNCH_CONTAINER_DEFAULT,
        'instructorcustomparameters' => '', 'instructorchoicesendname' => 1, 'instructorchoicesendemailaddr' => 1,
        'instructorchoiceacceptgrades' => 0, 'resourcekey' => '', 'password' => '', 'icon' => '', 'secureicon' => '',
        'showtitlelaunch' => 0, 'showdescriptionlaunch' => 0, 'debuglaunch' => 0, 'grade' => 0, 'cmidnumber' => '']);
    return (object)['cmid' => $mi->coursemodule, 'instanceid' => $mi->instance];
}

// ---- the External tool activities (1.1 and 1.3)
$lticm = fixture_lti_activity($course, 'Jupyter', 'JupyterHub via LTI 1.1', $typeid);
$out['lti'] = ['cmid' => (int)$lticm->cmid, 'id' => (int)$lticm->instanceid, 'typeid' => (int)$typeid];

// ---- grades: the 1.1 activity accepts them (out of 100, emptied) or not, as lti_update_instance does
/** Makes LTI instance `$instanceid` accept grades out of 100, emptied (`$accept`), or none. */
function fixture_accept_grades(int $instanceid, bool $accept): void {
    global $DB;
    $DB->update_record('lti', (object)['id' => $instanceid, 'grade' => $accept ? 100 : 0,
        'instructorchoiceacceptgrades' => $accept ? LTI_SETTING_ALWAYS : 0, 'timemodified' => time()]);
    $graded = $DB->get_record('lti', ['id' => $instanceid], '*', MUST_EXIST);
    $graded->cmidnumber = '';
    if ($accept) {
        lti_grade_item_update($graded);
        lti_grade_item_update($graded, 'reset');
    } else {
        lti_grade_item_delete($graded);
    }
}
$accept = $opts['accept-grades'] === '1';
fixture_accept_grades((int)$lticm->instanceid, $accept);
$out['lti']['accepts_grades'] = $accept;

// ---- the LTI 1.3 activity, from the 1.3 site tool
$lticm13 = fixture_lti_activity($course, 'Jupyter 1.3', 'JupyterHub via LTI 1.3', $typeid13);
$out['lti13'] = ['cmid' => (int)$lticm13->cmid, 'id' => (int)$lticm13->instanceid, 'typeid' => (int)$typeid13,
    'issuer' => $CFG->wwwroot, 'client_id' => $client13, 'deployment_id' => (string)$typeid13,
    'auth_login_url' => "$CFG->wwwroot/mod/lti/auth.php", 'key_set_url' => "$CFG->wwwroot/mod/lti/certs.php",
    'token_url' => "$CFG->wwwroot/mod/lti/token.php"];

// ---- the LTI 1.3 tool a hub registered by Dynamic Registration: Moodle made it "Pending"; the admin
// activates it in the tool list (lti_set_state_for_type, as the Activate button does) and it opens
// like the other tools; its activity follows the newest registration.
$activities = ['lti' => $lticm, 'lti13' => $lticm13];
if ($opts['lti13-registered-client'] !== '') {
    $regtype = $DB->get_record('lti_types', ['clientid' => $opts['lti13-registered-client']], '*', MUST_EXIST);
    lti_set_state_for_type($regtype->id, LTI_TOOL_STATE_CONFIGURED);
    $DB->set_field('lti_types_config', 'value', $containers[$opts['launch-container']],
        ['typeid' => $regtype->id, 'name' => 'launchcontainer']);
    $regcm = fixture_lti_activity($course, 'Jupyter 1.3 registered', 'JupyterHub via LTI 1.3, registered by the hub',
        $regtype->id);
    $DB->set_field('lti', 'typeid', $regtype->id, ['id' => $regcm->instanceid]);
    // AGS: the tool's service setting (as its edit form saves it) and the activity's grade item.
    $ags = $opts['ags'] === '1';
    $DB->delete_records('lti_types_config', ['typeid' => $regtype->id, 'name' => 'ltiservice_gradesynchronization']);
    $DB->insert_record('lti_types_config', (object)['typeid' => $regtype->id,
        'name' => 'ltiservice_gradesynchronization', 'value' => $ags ? '2' : '0']);
    fixture_accept_grades((int)$regcm->instanceid, $ags);
    $activities['lti13_registered'] = $regcm;
    // Earlier runs' registrations of the same tool name are removed, so they do not pile up.
    foreach ($DB->get_records_select('lti_types', 'name = :name AND id <> :id',
            ['name' => $regtype->name, 'id' => $regtype->id]) as $old) {
        lti_delete_type($old->id);
    }
    $out['lti13_registered'] = ['cmid' => (int)$regcm->cmid, 'id' => (int)$regcm->instanceid,
        'typeid' => (int)$regtype->id, 'issuer' => $CFG->wwwroot, 'client_id' => $regtype->clientid,
        'deployment_id' => (string)$regtype->id, 'state' => (int)$DB->get_field('lti_types', 'state', ['id' => $regtype->id]),
        'ags' => $ags];
}

// ---- the mod_lticontainer activity (fields of its mod_form.php)
$ltcfields = ['jupyterhub_url' => $opts['hub-url'], 'use_podman' => $opts['engine'] === 'podman' ? 1 : 0,
    'docker_user' => 'docker', 'docker_pass' => 'pass', 'api_token' => $opts['api-token'], 'custom_params' => 1,
    'imgname_fltr' => 'jupyter', 'make_volumes' => 0, 'namepattern' => 'fullname', 'use_dashboard' => 1,
    'rpc_token' => $wstoken, 'during_realtime' => 5400, 'during_anytime' => 604800,
    'chart_bar_usernum' => 15, 'chart_bar_codenum' => 15, 'chart_line_usernum' => 10];
$ltccm = fixture_find_cm($course->id, 'lticontainer', 'LTIContainer');
if (!$ltccm) {
    $mi = create_module((object)array_merge(['modulename' => 'lticontainer', 'course' => $course->id,
        'section' => 1, 'visible' => 1, 'name' => 'LTIContainer', 'cmidnumber' => '',
        'introeditor' => fixture_intro('<p>Manage the Jupyter activity</p>')], $ltcfields));
    $ltccm = (object)['cmid' => $mi->coursemodule, 'instanceid' => $mi->instance];
} else {
    $DB->update_record('lticontainer', (object)array_merge(['id' => $ltccm->instanceid, 'timemodified' => time()],
        $ltcfields));
}
$out['lticontainer'] = ['cmid' => (int)$ltccm->cmid, 'id' => (int)$ltccm->instanceid];

// ---- the "LTI Edit" tab's Update, as LTIEdit::execute() does it: every lms_* setting from $lms
// (nothing sticks from an earlier run), plus the lines the plugin adds itself.
$custom = (object)['lms_vol_' => [], 'lms_vol_name' => [], 'lms_vol_link' => [], 'lms_vol_users' => [],
    'lms_vol_close' => [], 'others' => serialize([])];
$closes = [];
foreach ($lms as $name => $value) {
    if (preg_match('/^(lms_(?:vol|sub|prs)_)([a-z0-9]+)_close$/', $name, $m)) {
        $closes[$m[1] . $m[2]] = $value;
    }
}
foreach ($lms as $name => $value) {
    if (preg_match('/^(lms_(?:vol|sub|prs)_)([a-z0-9]+)$/', $name, $m)) {
        [$link, $users] = array_pad(explode(':', $value, 2), 2, '');
        $custom->lms_vol_[] = $m[1];
        $custom->lms_vol_name[] = $m[2];
        $custom->lms_vol_link[] = $link;
        $custom->lms_vol_users[] = $users;
        $custom->lms_vol_close[] = $closes[$name] ?? 'none';
    } else if (!preg_match('/_close$/', $name)) {
        $custom->$name = $value;
    }
}
// The LTI activities get the same settings (each with its own name, id and launch container).
foreach ($activities as $key => $cm) {
    $ltirec = $DB->get_record('lti', ['id' => $cm->instanceid], '*', MUST_EXIST);
    $launch = $ltirec->launchcontainer == LTI_LAUNCH_CONTAINER_DEFAULT ? $containers[$opts['launch-container']]
        : $ltirec->launchcontainer;
    $custom->lms_course = $course->fullname;
    $custom->lms_ltiname = $ltirec->name;
    $custom->lms_iframe = ($launch == LTI_LAUNCH_CONTAINER_EMBED || $launch == LTI_LAUNCH_CONTAINER_EMBED_NO_BLOCKS)
        ? '1' : '';
    $custom->instanceid = $ltccm->instanceid;
    $custom->lti_id = $ltirec->id;
    $custom->rpc_token = $wstoken;
    $wwwport = parse_url($CFG->wwwroot, PHP_URL_PORT) ?: (parse_url($CFG->wwwroot, PHP_URL_SCHEME) == 'https' ? 443 : 80);
    $custom->server_url = parse_url($CFG->wwwroot, PHP_URL_SCHEME) . '://' . parse_url($CFG->wwwroot, PHP_URL_HOST)
        . ':' . $wwwport;
    $custom->server_path = (string)parse_url($CFG->wwwroot, PHP_URL_PATH);
    $customtxt = lticontainer_join_custom_params($custom);
    $DB->update_record('lti', (object)['id' => $ltirec->id, 'instructorcustomparameters' => $customtxt,
        'timemodified' => time()]);
    $out[$key]['custom_parameters'] = str_replace("\r\n", "\n", $customtxt);
}
rebuild_course_cache($course->id, true);

echo json_encode($out, JSON_PRETTY_PRINT | JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES), "\n";
