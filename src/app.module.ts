/** The root module: configuration, database, cross-cutting services and the feature modules. */
import { DynamicModule, Module, Type } from '@nestjs/common';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { Clock } from './common/clock/clock';
import { CommonModule } from './common/common.module';
import { DatabaseModule } from './database/database.module';
import { KeysModule } from './keys/keys.module';
import { DatabaseTarget } from './database/data-source';
import { AttestationModule } from './attestation/attestation.module';
import { MeasurementsModule } from './measurements/measurements.module';
import { AuthModule } from './auth/auth.module';
import { VmAuthModule } from './vm-auth/vm-auth.module';
import { ProvisionModule } from './provision/provision.module';
import { BootModule } from './boot/boot.module';
import { MinersModule } from './miners/miners.module';
import { LuksModule } from './luks/luks.module';
import { ServersModule } from './servers/servers.module';
import { NonceModule } from './nonces/nonce.module';
import { OpsModule } from './ops/ops.module';
import { AdminModule } from './admin/admin.module';

export interface AppOverrides {
  /** Replaces the database chosen from config (tests: a schema of their own, in-memory PGlite). */
  database?: DatabaseTarget;
  clock?: Clock;
  /** Extra modules mounted beside the real ones (tests that need to observe internals). */
  extraModules?: Type[];
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, database: DatabaseTarget, clock?: Clock, extraModules: Type[] = []): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        CommonModule.forRoot(clock),
        DatabaseModule.forRoot(database),
        KeysModule,
        OpsModule,
        NonceModule,
        MinersModule,
        AuthModule,
        MeasurementsModule,
        AttestationModule,
        VmAuthModule,
        BootModule,
        LuksModule,
        ProvisionModule,
        ServersModule,
        AdminModule,
        ...extraModules,
      ],
    };
  }
}
