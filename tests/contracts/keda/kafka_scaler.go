// contract: the parameters the KEDA `kafka` scaler accepts (trigger metadata and
//   TriggerAuthentication parameters), from its typed metadata struct -- EXCERPT
// repo: rickbrouwer/keda (a fork of kedacore/keda by a KEDA maintainer; see "stored" below)
// path: pkg/scalers/kafka_scaler.go
// commit: 553990959dfc7664dd2077e3a75d4487dc5cc147
// pinned: 2.21.1 (infra/k8s/addons.py KEDA_VERSION; kedacore/keda tag v2.21.1)
// stored: the reference store's copies of kedacore/keda itself are pre-2.10 (commits 366d9d8...,
//   005859f...: only plaintext/scram sasl, no oauthbearer, no awsRegion). This fork's copy is the
//   typed-config scaler of current KEDA (`keda:"name=...,order=...,enum=..."` tags, parsed by
//   config.TypedConfig). A second stored copy of the same typed scaler (index id 53811794364, its
//   repository not named by the index) declares the same parameter names and the same `sasl`/`tls`
//   enums, plus `enum=bearer;aws_msk_iam` on saslTokenProvider. Neither is the v2.21.1 tag.
// excerpt: the file is 26,129 characters; saved verbatim from the top to the end of
//   parseKafkaMetadata (the struct, the enums, and the validation rules). The client/lag code after
//   it is left out.
// ---- upstream content below, verbatim ----
/*
Copyright 2023 The KEDA Authors

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// This scaler is based on sarama library.
// It lacks support for AWS MSK. For AWS MSK please see: apache-kafka scaler.

package scalers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/IBM/sarama"
	"github.com/go-logr/logr"
	v2 "k8s.io/api/autoscaling/v2"
	"k8s.io/metrics/pkg/apis/external_metrics"

	awsutils "github.com/kedacore/keda/v2/pkg/scalers/aws"
	"github.com/kedacore/keda/v2/pkg/scalers/kafka"
	"github.com/kedacore/keda/v2/pkg/scalers/scalersconfig"
	kedautil "github.com/kedacore/keda/v2/pkg/util"
)

type kafkaScaler struct {
	metricType      v2.MetricTargetType
	metadata        *kafkaMetadata
	client          sarama.Client
	admin           sarama.ClusterAdmin
	logger          logr.Logger
	previousOffsets map[string]map[int32]int64
}

const (
	stringEnable     = "enable"
	stringDisable    = "disable"
	defaultUnsafeSsl = false
	invalidOffset    = -1
)

type kafkaMetadata struct {
	triggerIndex int

	// If an invalid offset is found, whether to scale to 1 (false - the default) so consumption can
	// occur or scale to 0 (true). See discussion in https://github.com/kedacore/keda/issues/2612

	BootstrapServers                   []string `keda:"name=bootstrapServers,order=triggerMetadata;resolvedEnv"`
	Group                              string   `keda:"name=consumerGroup,order=triggerMetadata;resolvedEnv"`
	Topic                              string   `keda:"name=topic,order=triggerMetadata;resolvedEnv,optional"`
	PartitionLimitation                []int32  `keda:"name=partitionLimitation,order=triggerMetadata,optional"`
	LagThreshold                       int64    `keda:"name=lagThreshold,order=triggerMetadata,default=10"`
	ActivationLagThreshold             int64    `keda:"name=activationLagThreshold,order=triggerMetadata,default=0"`
	OffsetResetPolicy                  string   `keda:"name=offsetResetPolicy,order=triggerMetadata,default=latest,enum=latest;earliest"`
	AllowIdleConsumers                 bool     `keda:"name=allowIdleConsumers,order=triggerMetadata,default=false"`
	ExcludePersistentLag               bool     `keda:"name=excludePersistentLag,order=triggerMetadata,default=false"`
	ScaleToZeroOnInvalidOffset         bool     `keda:"name=scaleToZeroOnInvalidOffset,order=triggerMetadata,default=false"`
	LimitToPartitionsWithLag           bool     `keda:"name=limitToPartitionsWithLag,order=triggerMetadata,default=false"`
	EnsureEvenDistributionOfPartitions bool     `keda:"name=ensureEvenDistributionOfPartitions,order=triggerMetadata,default=false"`
	Version                            string   `keda:"name=version,order=triggerMetadata,default=1.0.0"`

	SASL     string `keda:"name=sasl,order=triggerMetadata;authParams,optional,enum=none;plaintext;scram_sha256;scram_sha512;oauthbearer;gssapi"`
	Username string `keda:"name=username,order=authParams,optional"`
	Password string `keda:"name=password,order=authParams,optional"`

	Keytab              string `keda:"name=keytab,order=authParams,optional"`
	Realm               string `keda:"name=realm,order=authParams,optional"`
	KerberosConfig      string `keda:"name=kerberosConfig,order=authParams,optional"`
	KerberosServiceName string `keda:"name=kerberosServiceName,order=authParams,optional"`
	KerberosDisableFAST bool   `keda:"name=kerberosDisableFAST,order=authParams,default=false"`

	SAMLTokenProvider     string `keda:"name=saslTokenProvider,order=triggerMetadata;authParams,optional"`
	Scopes                string `keda:"name=scopes,order=authParams,optional"`
	OAuthTokenEndpointURI string `keda:"name=oauthTokenEndpointUri,order=authParams,optional"`
	OAuthExtensions       string `keda:"name=oauthExtensions,order=authParams,optional"`

	AWSRegion string `keda:"name=awsRegion,order=triggerMetadata,optional"`

	TLS         string `keda:"name=tls,order=triggerMetadata;authParams,optional,enum=enable;disable"`
	Cert        string `keda:"name=cert,order=authParams,optional"`
	Key         string `keda:"name=key,order=authParams,optional"`
	KeyPassword string `keda:"name=keyPassword,order=authParams,optional"`
	CA          string `keda:"name=ca,order=authParams,optional"`
	UnsafeSsl   bool   `keda:"name=unsafeSsl,order=triggerMetadata,default=false"`

	offsetResetPolicy  offsetResetPolicy
	saslType           kafkaSaslType
	tokenProvider      kafkaSaslOAuthTokenProvider
	scopes             []string
	oauthExtensions    map[string]string
	awsAuthorization   awsutils.AuthorizationMetadata
	enableTLS          bool
	version            sarama.KafkaVersion
	keytabPath         string
	kerberosConfigPath string
}

type offsetResetPolicy string

const (
	latest   offsetResetPolicy = "latest"
	earliest offsetResetPolicy = "earliest"
)

type kafkaSaslType string

// supported SASL types
const (
	KafkaSASLTypeNone        kafkaSaslType = "none"
	KafkaSASLTypePlaintext   kafkaSaslType = "plaintext"
	KafkaSASLTypeSCRAMSHA256 kafkaSaslType = "scram_sha256"
	KafkaSASLTypeSCRAMSHA512 kafkaSaslType = "scram_sha512"
	KafkaSASLTypeOAuthbearer kafkaSaslType = "oauthbearer"
	KafkaSASLTypeGSSAPI      kafkaSaslType = "gssapi"
)

type kafkaSaslOAuthTokenProvider string

// supported SASL OAuth token provider types
const (
	KafkaSASLOAuthTokenProviderBearer    kafkaSaslOAuthTokenProvider = "bearer"
	KafkaSASLOAuthTokenProviderAWSMSKIAM kafkaSaslOAuthTokenProvider = "aws_msk_iam"
)

func (m *kafkaMetadata) Validate() error {
	if m.LagThreshold <= 0 {
		return fmt.Errorf("lagThreshold must be positive number")
	}
	if m.ActivationLagThreshold < 0 {
		return fmt.Errorf("activationLagThreshold must be positive number")
	}
	if m.AllowIdleConsumers && m.LimitToPartitionsWithLag {
		return fmt.Errorf("allowIdleConsumers and limitToPartitionsWithLag cannot be set simultaneously")
	}
	if m.LimitToPartitionsWithLag && m.EnsureEvenDistributionOfPartitions {
		return fmt.Errorf("limitToPartitionsWithLag and ensureEvenDistributionOfPartitions cannot be set simultaneously")
	}
	if m.Topic == "" {
		if m.LimitToPartitionsWithLag {
			return fmt.Errorf("topic must be specified when using limitToPartitionsWithLag")
		}
		if m.EnsureEvenDistributionOfPartitions {
			return fmt.Errorf("topic must be specified when using ensureEvenDistributionOfPartitions")
		}
	}
	m.offsetResetPolicy = offsetResetPolicy(m.OffsetResetPolicy)
	if err := m.parseTLS(); err != nil {
		return err
	}
	if err := m.parseSASL(); err != nil {
		return err
	}
	return nil
}

func (m *kafkaMetadata) parseTLS() error {
	m.enableTLS = false
	if m.TLS == stringEnable {
		m.enableTLS = true
		if (m.Cert != "") != (m.Key != "") {
			return errors.New("cert and key must both be provided or both be empty")
		}
	}
	return nil
}

func (m *kafkaMetadata) parseSASL() error {
	m.saslType = KafkaSASLTypeNone
	if m.SASL == "" || m.SASL == "none" {
		return nil
	}
	m.saslType = kafkaSaslType(m.SASL)
	switch m.saslType {
	case KafkaSASLTypePlaintext, KafkaSASLTypeSCRAMSHA256, KafkaSASLTypeSCRAMSHA512:
		return m.validateBasicSASL()
	case KafkaSASLTypeOAuthbearer:
		return m.validateOAuthSASL()
	case KafkaSASLTypeGSSAPI:
		return m.validateKerberosSASL()
	default:
		return fmt.Errorf("unsupported SASL mode: %s", m.saslType)
	}
}

func (m *kafkaMetadata) validateBasicSASL() error {
	if m.Username == "" {
		return errors.New("no username given")
	}
	if m.Password == "" {
		return errors.New("no password given")
	}
	return nil
}

func (m *kafkaMetadata) validateOAuthSASL() error {
	m.tokenProvider = KafkaSASLOAuthTokenProviderBearer
	if m.SAMLTokenProvider != "" {
		m.tokenProvider = kafkaSaslOAuthTokenProvider(m.SAMLTokenProvider)
	}
	switch m.tokenProvider {
	case KafkaSASLOAuthTokenProviderBearer:
		return m.validateOAuthBearer()
	case KafkaSASLOAuthTokenProviderAWSMSKIAM:
		return m.validateAWSMSKIAM()
	default:
		return fmt.Errorf("unsupported OAuth token provider: %s", m.tokenProvider)
	}
}

func (m *kafkaMetadata) validateOAuthBearer() error {
	if m.Username == "" {
		return errors.New("no username given")
	}
	if m.Password == "" {
		return errors.New("no password given")
	}
	if m.OAuthTokenEndpointURI == "" {
		return errors.New("no oauth token endpoint uri given")
	}
	if m.Scopes != "" {
		m.scopes = strings.Split(m.Scopes, ",")
	}
	m.oauthExtensions = make(map[string]string)
	if m.OAuthExtensions != "" {
		for _, ext := range strings.Split(m.OAuthExtensions, ",") {
			parts := strings.Split(ext, "=")
			if len(parts) != 2 {
				return errors.New("invalid OAuthBearer extension, must be of format key=value")
			}
			m.oauthExtensions[parts[0]] = parts[1]
		}
	}
	return nil
}

func (m *kafkaMetadata) validateAWSMSKIAM() error {
	if !m.enableTLS {
		return errors.New("TLS is required for AWS MSK authentication")
	}
	if m.AWSRegion == "" {
		return errors.New("no awsRegion given")
	}
	return nil
}

func (m *kafkaMetadata) validateKerberosSASL() error {
	if m.Username == "" {
		return errors.New("no username given")
	}
	if (m.Password == "" && m.Keytab == "") || (m.Password != "" && m.Keytab != "") {
		return errors.New("exactly one of 'password' or 'keytab' must be provided for GSSAPI authentication")
	}
	if m.Realm == "" {
		return errors.New("no realm given")
	}
	if m.KerberosConfig == "" {
		return errors.New("no Kerberos configuration file (kerberosConfig) given")
	}
	if m.Keytab != "" {
		path, err := saveToFile(m.Keytab)
		if err != nil {
			return fmt.Errorf("error saving keytab to file: %w", err)
		}
		m.keytabPath = path
	}
	path, err := saveToFile(m.KerberosConfig)
	if err != nil {
		return fmt.Errorf("error saving kerberosConfig to file: %w", err)
	}
	m.kerberosConfigPath = path
	return nil
}

func saveToFile(content string) (string, error) {
	tempKrbDir := fmt.Sprintf("%s%c%s", os.TempDir(), os.PathSeparator, "kerberos")
	if err := os.MkdirAll(tempKrbDir, 0700); err != nil {
		return "", fmt.Errorf("error creating temporary directory %s: %w", tempKrbDir, err)
	}
	tempFile, err := os.CreateTemp(tempKrbDir, "krb_*")
	if err != nil {
		return "", fmt.Errorf("error creating temporary file: %w", err)
	}
	defer tempFile.Close()
	if _, err := tempFile.Write([]byte(content)); err != nil {
		return "", fmt.Errorf("error writing to temporary file: %w", err)
	}
	return tempFile.Name(), nil
}

func NewKafkaScaler(ctx context.Context, config *scalersconfig.ScalerConfig) (Scaler, error) {
	metricType, err := GetMetricTargetType(config)
	if err != nil {
		return nil, fmt.Errorf("error getting scaler metric type: %w", err)
	}
	logger := InitializeLogger(config, "kafka_scaler")
	meta, err := parseKafkaMetadata(config, logger)
	if err != nil {
		return nil, fmt.Errorf("error parsing kafka metadata: %w", err)
	}
	client, admin, err := getKafkaClients(ctx, meta)
	if err != nil {
		return nil, err
	}
	return &kafkaScaler{
		client:          client,
		admin:           admin,
		metricType:      metricType,
		metadata:        meta,
		logger:          logger,
		previousOffsets: make(map[string]map[int32]int64),
	}, nil
}

func parseKafkaMetadata(config *scalersconfig.ScalerConfig, logger logr.Logger) (*kafkaMetadata, error) {
	meta := &kafkaMetadata{}
	if err := config.TypedConfig(meta); err != nil {
		return nil, err
	}
	version, err := sarama.ParseKafkaVersion(meta.Version)
	if err != nil {
		return nil, fmt.Errorf("error parsing kafka version: %w", err)
	}
	meta.version = version
	if meta.saslType == KafkaSASLTypeOAuthbearer && meta.tokenProvider == KafkaSASLOAuthTokenProviderAWSMSKIAM {
		auth, err := awsutils.GetAwsAuthorization(config.TriggerUniqueKey, meta.AWSRegion, config.PodIdentity, config.TriggerMetadata, config.AuthParams, config.ResolvedEnv)
		if err != nil {
			return nil, fmt.Errorf("error getting AWS authorization: %w", err)
		}
		meta.awsAuthorization = auth
	}
	meta.triggerIndex = config.TriggerIndex
	if meta.Topic == "" {
		logger.V(1).Info(fmt.Sprintf("consumer group %q has no topic specified, will use all topics subscribed by the consumer group for scaling", meta.Group))
		if len(meta.PartitionLimitation) > 0 {
			logger.V(1).Info("no specific topic set, ignoring partitionLimitation setting")
			meta.PartitionLimitation = nil
		}
	} else if len(meta.PartitionLimitation) > 0 {
		logger.V(0).Info(fmt.Sprintf("partition limit active '%v'", meta.PartitionLimitation))
	}
	return meta, nil
}
